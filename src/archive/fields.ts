// Field helpers shared by the index models: required fields, package names and versions, each
// failure naming the paragraph (position and line) and the index it came from.
import type { Deb822Paragraph } from './deb822.js';
import { IndexFormatError } from './errors.js';
import { parseDebianVersion } from './version.js';

/** Debian Policy §5.6.1: lowercase letters, digits, "+", "-", "."; two characters or more. */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

export interface ParagraphLocation {
  origin?: string;
  paragraph: number;
  line: number;
}

export function locate(paragraph: Deb822Paragraph, origin: string | undefined, line?: number): ParagraphLocation {
  return { ...(origin !== undefined ? { origin } : {}), paragraph: paragraph.index, line: line ?? paragraph.line };
}

/** Reads a required single-line field, reporting the paragraph when it is missing or empty. */
export function requireField(paragraph: Deb822Paragraph, name: string, kind: string, origin?: string): string {
  const value = paragraph.get(name)?.trim();
  if (value === undefined || value === '') {
    throw new IndexFormatError(`${kind} paragraph has no ${name} field`, locate(paragraph, origin));
  }
  if (value.includes('\n')) {
    throw new IndexFormatError(`${kind} field ${name} must be a single line`, locate(paragraph, origin, paragraph.field(name)?.line));
  }
  return value;
}

/** Checks a package name and a version, naming the paragraph on failure. */
export function checkNameAndVersion(paragraph: Deb822Paragraph, name: string, version: string, kind: string, origin?: string): void {
  if (!PACKAGE_NAME.test(name)) {
    throw new IndexFormatError(`${kind} paragraph has an invalid package name ${JSON.stringify(name)}`, locate(paragraph, origin));
  }
  try {
    parseDebianVersion(version);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new IndexFormatError(`${kind} paragraph for ${name}: ${reason}`, locate(paragraph, origin));
  }
}
