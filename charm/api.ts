// The controller's HTTP API on this unit, as the charm's actions and status use it: JSON calls with
// the write token of the rendered configuration. Failures become CharmApiError with a message an
// operator can act on (the controller's own message when it answered).
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';

export class CharmApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'CharmApiError';
  }
}

const renderedSchema = z
  .object({
    listen: z.string().optional(),
    trains: z.array(z.object({ name: z.string(), release: z.string() }).loose()).optional(),
    tokens: z.array(z.object({ name: z.string(), token: z.string().optional() }).loose()).optional(),
  })
  .loose();
export type RenderedConfig = z.infer<typeof renderedSchema>;

/** The configuration the charm rendered for the controller. */
export async function readRendered(file: string): Promise<RenderedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CharmApiError('the controller is not configured yet: run the config-changed hook first (see `juju status heliostat`)');
  }
  const parsed = renderedSchema.safeParse(parse(text) ?? {});
  if (!parsed.success) throw new CharmApiError(`the rendered configuration ${file} is not what the charm writes; run config-changed again`);
  return parsed.data;
}

/** http://127.0.0.1:<port> of the rendered listen address: the API is under /api/v1, the mirror's under /api/mirror/v1. */
export function originOf(config: RenderedConfig): string {
  const port = config.listen?.slice(config.listen.lastIndexOf(':') + 1) ?? '8080';
  return `http://127.0.0.1:${port}`;
}

export class ControllerClient {
  constructor(
    private readonly origin: string,
    private readonly token: string | undefined,
    private readonly timeoutMs = 30_000,
  ) {}

  /** The controller the rendered configuration describes (`origin` overrides its address). */
  static async fromConfig(configFile: string, origin?: string, timeoutMs?: number): Promise<{ client: ControllerClient; config: RenderedConfig }> {
    const config = await readRendered(configFile);
    const token = config.tokens?.find((t) => t.token)?.token;
    return { client: new ControllerClient(origin ?? originOf(config), token, timeoutMs), config };
  }

  async call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.origin}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      const why = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new CharmApiError(`the controller does not answer at ${this.origin} (${why}); check \`systemctl status heliostat\` on the unit`);
    }
    const text = await response.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = { message: text };
    }
    if (!response.ok) {
      // The controller's API answers {error: {message}}, the mirror's {error: "..."}.
      const answer = data as { error?: { message?: string } | string; message?: string };
      const message = typeof answer.error === 'string' ? answer.error : (answer.error?.message ?? answer.message);
      throw new CharmApiError(message ?? `HTTP ${response.status}`, response.status);
    }
    return data;
  }
}
