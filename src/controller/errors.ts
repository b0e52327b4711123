// Errors about the controller's state rather than the request (the request itself was valid).

/** Refused because of the controller's state: 409 (not the leader) or 503 (shutting down). */
export class ControllerStateError extends Error {
  constructor(
    message: string,
    readonly statusCode: 409 | 503,
  ) {
    super(message);
    this.name = 'ControllerStateError';
  }
}
