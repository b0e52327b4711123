// Typed errors of the apt archive layer. Every error names what was wrong and where, so a user who
// mistyped a PPA or a release sees which value or which URL to fix.

/** Base class: everything this layer throws on purpose is an ArchiveError. */
export class ArchiveError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A deb822 document (Sources, Packages, Release) that does not follow the syntax. */
export class Deb822SyntaxError extends ArchiveError {
  constructor(
    readonly reason: string,
    /** 1-based line number in the original text (before any clear-signature stripping). */
    readonly line: number,
    /** Where the text came from (a URL or a file name), when known. */
    readonly origin?: string,
  ) {
    super(`${origin ? `${origin}: ` : ''}line ${line}: ${reason}`);
  }
}

/** A syntactically valid index whose content is unusable (a missing required field, a bad value). */
export class IndexFormatError extends ArchiveError {
  constructor(
    readonly reason: string,
    readonly details: { origin?: string; paragraph?: number; line?: number } = {},
  ) {
    const where = [
      details.origin,
      details.paragraph !== undefined ? `paragraph ${details.paragraph}` : undefined,
      details.line !== undefined ? `line ${details.line}` : undefined,
    ].filter((part): part is string => part !== undefined);
    super(where.length > 0 ? `${where.join(', ')}: ${reason}` : reason);
  }
}

/** An index body that could not be decoded (corrupt or truncated gzip) or exceeds the size cap. */
export class IndexDecodeError extends ArchiveError {
  constructor(
    readonly url: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot read index ${url}: ${reason}`, options);
  }
}

/** The server has no such index: a wrong series, release codename, pocket, component or PPA name. */
export class IndexNotFoundError extends ArchiveError {
  constructor(readonly url: string) {
    super(
      `index not found: ${url} (HTTP 404). Check the series, the cloud release codename, the pocket ` +
        'and the PPA name: the archive does not publish this index.',
    );
  }
}

/** The index could not be fetched: HTTP errors, timeouts, network failures after every retry. */
export class IndexFetchError extends ArchiveError {
  constructor(
    readonly url: string,
    reason: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(`cannot fetch index ${url}: ${reason}`, options);
  }
}

/** Offline mode and the index was never cached. */
export class OfflineCacheMissError extends ArchiveError {
  constructor(readonly url: string) {
    super(`offline and index not cached: ${url}. Run once online to fill the cache.`);
  }
}

/** A PPA reference that is not a valid Launchpad `ppa:owner/name`. */
export class InvalidPpaError extends ArchiveError {
  /** Bad input from the caller (the CLI exits 2). */
  readonly usage = true;

  constructor(
    readonly value: string,
    reason: string,
  ) {
    super(`invalid PPA ${JSON.stringify(value)}: ${reason}`);
  }
}

/** A string that is not a Debian version (empty, bad epoch, ...). */
export class InvalidVersionError extends ArchiveError {
  constructor(
    readonly value: string,
    reason: string,
  ) {
    super(`invalid Debian version ${JSON.stringify(value)}: ${reason}`);
  }
}

/** A source or binary package that none of the configured apt sources publishes. */
export class UnknownPackageError extends ArchiveError {
  constructor(
    readonly kind: 'source' | 'binary',
    readonly names: readonly string[],
    where: string,
  ) {
    const list = names.map((name) => JSON.stringify(name)).join(', ');
    super(`${kind} package${names.length > 1 ? 's' : ''} ${list} not found in ${where}`);
  }
}
