// The Packages index model: one entry per binary package paragraph. The Source field is optional
// (absent when the source has the binary's name and version) and may carry the source version:
// "Source: cinder (2:24.0.0-0ubuntu1)".
import type { Deb822Paragraph } from './deb822.js';
import { iterateDeb822 } from './deb822.js';
import { IndexFormatError } from './errors.js';
import { PACKAGE_NAME, checkNameAndVersion, locate, requireField } from './fields.js';

export interface BinaryPackage {
  name: string;
  version: string;
  /** Source package name (the binary's own name when the Source field is absent). */
  source: string;
  /** Source version (the binary's version unless Source says otherwise, e.g. binNMUs). */
  sourceVersion: string;
  architecture: string;
}

/** The fields the model reads; everything else is skipped while parsing. */
export const PACKAGES_FIELDS = ['Package', 'Version', 'Source', 'Architecture'] as const;

const SOURCE_FIELD = /^(\S+)(?:\s+\(([^()\s]+)\))?$/;

/** Builds the model of one Packages paragraph. */
export function binaryFromParagraph(paragraph: Deb822Paragraph, origin?: string): BinaryPackage {
  const name = requireField(paragraph, 'Package', 'Packages', origin);
  const version = requireField(paragraph, 'Version', 'Packages', origin);
  checkNameAndVersion(paragraph, name, version, 'Packages', origin);
  const architecture = requireField(paragraph, 'Architecture', 'Packages', origin);
  let source = name;
  let sourceVersion = version;
  const sourceField = paragraph.get('Source');
  if (sourceField !== undefined) {
    const match = SOURCE_FIELD.exec(sourceField.trim());
    const sourceName = match?.[1];
    if (!match || sourceName === undefined || !PACKAGE_NAME.test(sourceName)) {
      throw new IndexFormatError(
        `Packages paragraph for ${name} has a malformed Source field ${JSON.stringify(sourceField)}`,
        locate(paragraph, origin, paragraph.field('Source')?.line),
      );
    }
    source = sourceName;
    sourceVersion = match[2] ?? version;
  }
  return { name, version, source, sourceVersion, architecture };
}

/** Parses a whole Packages index. */
export function parsePackagesIndex(text: string, origin?: string): BinaryPackage[] {
  const out: BinaryPackage[] = [];
  for (const paragraph of iterateDeb822(text, { only: PACKAGES_FIELDS, ...(origin !== undefined ? { origin } : {}) })) {
    out.push(binaryFromParagraph(paragraph, origin));
  }
  return out;
}
