// The HTTP API reference, rendered from the OpenAPI document itself so that it cannot drift: every
// path and method with its summary, authentication, parameters, request body and responses, then
// the shared schemas. A test keeps docs/http-api.md equal to the rendering of the live document.
import { z } from 'zod';

/** A JSON Schema as the document holds it; read field by field, nothing assumed. */
type Schema = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const schemaSchema = z.record(z.string(), z.unknown());
const mediaSchema = z.object({ schema: schemaSchema.optional() }).loose();
const contentSchema = z.record(z.string(), mediaSchema);
const securitySchema = z.array(z.record(z.string(), z.array(z.string())));
const refSchema = z.object({ $ref: z.string() });
const parameterSchema = z.union([
  z.object({ name: z.string(), in: z.string(), required: z.boolean().optional(), description: z.string().optional(), schema: schemaSchema.optional() }).loose(),
  refSchema,
]);
const operationSchema = z
  .object({
    summary: z.string().optional(),
    description: z.string().optional(),
    parameters: z.array(parameterSchema).optional(),
    requestBody: z.union([z.object({ required: z.boolean().optional(), description: z.string().optional(), content: contentSchema }).loose(), refSchema]).optional(),
    responses: z.record(z.string(), z.union([z.object({ description: z.string().optional(), content: contentSchema.optional() }).loose(), refSchema])),
    security: securitySchema.optional(),
  })
  .loose();
const pathItemSchema = z.object(Object.fromEntries(METHODS.map((m) => [m, operationSchema.optional()])) as Record<(typeof METHODS)[number], z.ZodOptional<typeof operationSchema>>).loose();
const documentSchema = z
  .object({
    openapi: z.string(),
    info: z.object({ title: z.string(), version: z.string(), description: z.string().optional() }).loose(),
    paths: z.record(z.string(), pathItemSchema),
    components: z
      .object({
        schemas: z.record(z.string(), schemaSchema).optional(),
        securitySchemes: z.record(z.string(), z.object({ type: z.string(), scheme: z.string().optional(), description: z.string().optional() }).loose()).optional(),
      })
      .loose()
      .optional(),
    security: securitySchema.optional(),
  })
  .loose();

type Document = z.infer<typeof documentSchema>;
type Ref = z.infer<typeof refSchema>;

/** A `$ref` object (a parameter, body or response defined elsewhere) rather than an inline one. */
function isRef(value: object): value is Ref {
  return typeof (value as { $ref?: unknown }).$ref === 'string';
}
type Operation = z.infer<typeof operationSchema>;
type Parameter = z.infer<typeof parameterSchema>;
type Content = z.infer<typeof contentSchema>;

// ---- text helpers -----------------------------------------------------------------------------

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Text fit for one table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

/** Free text from the document: angle brackets outside code spans escaped so they are not taken for HTML. */
function prose(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith('`') ? part : part.replace(/[<>]/g, (c) => `\\${c}`)))
    .join('');
}

/** How a client presents credentials of a security scheme, when the document does not say. */
function schemeUsage(s: { type: string; scheme?: string | undefined; name?: unknown; in?: unknown }): string {
  if (s.type === 'http' && s.scheme?.toLowerCase() === 'bearer') return '`Authorization: Bearer <token>`';
  if (s.type === 'http' && s.scheme?.toLowerCase() === 'basic') return '`Authorization: Basic <base64 of name:password>`';
  if (s.type === 'apiKey' && typeof s.name === 'string' && typeof s.in === 'string') return `${code(s.name)} in the ${s.in}`;
  return '';
}

const code = (text: string) => `\`${text}\``;

function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}

const schemaLink = (name: string) => `[${name}](#${anchorOf(`schema ${name}`)})`;

// ---- schemas ------------------------------------------------------------------------------------

function asSchema(value: unknown): Schema | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Schema) : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function range(min: number | undefined, max: number | undefined, unit: string): string {
  if (min !== undefined && max !== undefined) return `${String(min)}–${String(max)}${unit}`;
  if (min !== undefined) return `≥ ${String(min)}${unit}`;
  if (max !== undefined) return `≤ ${String(max)}${unit}`;
  return '';
}

function constraints(s: Schema): string[] {
  const out: string[] = [];
  const length = range(num(s.minLength), num(s.maxLength), ' chars');
  if (length) out.push(length);
  const value = range(num(s.minimum), num(s.maximum), '');
  if (value) out.push(value);
  const items = range(num(s.minItems), num(s.maxItems), ' items');
  if (items) out.push(items);
  if (typeof s.format === 'string') out.push(s.format);
  if (typeof s.pattern === 'string') out.push(`matching ${code(s.pattern)}`);
  return out;
}

/** A schema in a few words: its type, enum, constraints, and links to named schemas. */
export function describeSchema(value: unknown): string {
  const s = asSchema(value);
  if (!s || Object.keys(s).length === 0) return 'any';
  if (typeof s.$ref === 'string') return schemaLink(refName(s.$ref));
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((v) => code(JSON.stringify(v))).join(', ')}`;
  if ('const' in s) return code(JSON.stringify(s.const));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const alternatives = s[key];
    if (Array.isArray(alternatives)) return alternatives.map(describeSchema).join(' or ');
  }
  const type = Array.isArray(s.type) ? s.type.join(' or ') : typeof s.type === 'string' ? s.type : s.properties ? 'object' : 'any';
  const extra = constraints(s);
  let text = extra.length > 0 ? `${type} (${extra.join(', ')})` : type;
  if (type === 'array') text = `${text} of ${describeSchema(s.items)}`;
  if (type === 'object' && asSchema(s.properties)) {
    const required = requiredOf(s);
    const fields = Object.entries(asSchema(s.properties) ?? {}).map(([name, p]) => `${code(required.has(name) ? name : `${name}?`)}: ${describeSchema(p)}`);
    if (fields.length > 0) text = `${text} { ${fields.join('; ')} }`;
  }
  return text;
}

function requiredOf(s: Schema): Set<string> {
  return new Set(Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === 'string') : []);
}

/** The property table of an object schema; empty when it has no properties. */
function propertyTable(s: Schema): string[] {
  const properties = Object.entries(asSchema(s.properties) ?? {});
  if (properties.length === 0) return [];
  const required = requiredOf(s);
  const rows = properties.map(([name, p]) => {
    const description = typeof asSchema(p)?.description === 'string' ? prose(String(asSchema(p)?.description)) : '';
    return `| ${code(name)} | ${cell(describeSchema(p))} | ${required.has(name) ? 'yes' : 'no'} | ${cell(description)} |`;
  });
  const lines = ['| field | type | required | description |', '|---|---|---|---|', ...rows];
  if (s.additionalProperties === false) lines.push('', 'No other fields are accepted.');
  return lines;
}

// ---- operations ---------------------------------------------------------------------------------

function authOf(security: z.infer<typeof securitySchema> | undefined): string {
  if (!security || security.length === 0) return 'none';
  const anonymous = security.some((req) => Object.keys(req).length === 0);
  const schemes = security.filter((req) => Object.keys(req).length > 0).map((req) => Object.keys(req).map(code).join(' + '));
  if (schemes.length === 0) return 'none';
  return anonymous ? `optional: ${schemes.join(' or ')}` : `required: ${schemes.join(' or ')}`;
}

function parameterRows(parameters: readonly Parameter[]): string[] {
  if (parameters.length === 0) return [];
  const rows = parameters.map((p) =>
    isRef(p)
      ? `| ${schemaLink(refName(p.$ref))} | | | | |`
      : `| ${code(p.name)} | ${p.in} | ${p.required ? 'yes' : 'no'} | ${cell(describeSchema(p.schema))} | ${cell(prose(p.description ?? ''))} |`,
  );
  return ['Parameters:', '', '| name | in | required | type | description |', '|---|---|---|---|---|', ...rows, ''];
}

function contentSummary(content: Content | undefined): string {
  if (!content) return '';
  return Object.entries(content)
    .map(([type, media]) => `${code(type)}: ${describeSchema(media.schema)}`)
    .join('; ');
}

function requestBodyLines(body: Operation['requestBody']): string[] {
  if (!body) return [];
  if (isRef(body)) return [`Request body: ${schemaLink(refName(body.$ref))}`, ''];
  const out = [`Request body (${body.required ? 'required' : 'optional'}${body.description ? `; ${body.description}` : ''}):`, ''];
  for (const [type, media] of Object.entries(body.content)) {
    const schema = asSchema(media.schema) ?? {};
    const table = typeof schema.$ref === 'string' ? [] : propertyTable(schema);
    out.push(table.length > 0 ? `${code(type)}: object` : `${code(type)}: ${describeSchema(schema)}`, '');
    if (table.length > 0) out.push(...table, '');
  }
  return out;
}

function responseRows(responses: Operation['responses']): string[] {
  const rows = Object.entries(responses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, r]) => (isRef(r) ? `| ${status} | ${schemaLink(refName(r.$ref))} | |` : `| ${status} | ${cell(prose(r.description ?? ''))} | ${cell(contentSummary(r.content))} |`));
  return ['Responses:', '', '| status | description | body |', '|---|---|---|', ...rows, ''];
}

interface Entry {
  method: string;
  path: string;
  operation: Operation;
}

function entriesOf(doc: Document): Entry[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ method: method.toUpperCase(), path, operation }] : [];
    }),
  );
}

function operationSection(e: Entry, doc: Document): string[] {
  const op = e.operation;
  const out = [`### ${code(`${e.method} ${e.path}`)}`, ''];
  if (op.summary) out.push(prose(op.summary), '');
  if (op.description) out.push(prose(op.description), '');
  out.push(`Authentication: ${authOf(op.security ?? doc.security)}.`, '');
  out.push(...parameterRows(op.parameters ?? []));
  out.push(...requestBodyLines(op.requestBody));
  out.push(...responseRows(op.responses));
  return out;
}

function schemaSection(name: string, s: Schema): string[] {
  const out = [`### Schema ${name}`, ''];
  if (typeof s.description === 'string') out.push(prose(s.description), '');
  const table = propertyTable(s);
  if (table.length > 0) out.push(...table, '');
  else out.push(describeSchema(s), '');
  if (s.additionalProperties === true) out.push('Further fields may be present.', '');
  return out;
}

function authenticationSection(doc: Document): string[] {
  const schemes = Object.entries(doc.components?.securitySchemes ?? {});
  if (schemes.length === 0) return [];
  const out = ['## Authentication', '', '| scheme | type | description |', '|---|---|---|'];
  for (const [name, s] of schemes) out.push(`| ${code(name)} | ${cell([s.type, s.scheme].filter(Boolean).join(' '))} | ${cell(s.description ? prose(s.description) : schemeUsage(s))} |`);
  out.push('', `Unless an operation says otherwise, authentication is ${authOf(doc.security)}.`, '');
  return out;
}

/** Renders an OpenAPI 3 document as Markdown; throws when `document` is not one. */
export function openApiMarkdown(document: unknown): string {
  const parsed = documentSchema.safeParse(document);
  if (!parsed.success) throw new Error(`not an OpenAPI document: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const doc = parsed.data;
  const entries = entriesOf(doc);
  const out = [`# ${doc.info.title} reference`, '', `Generated from the OpenAPI ${doc.openapi} document (version ${doc.info.version}) the controller serves at \`GET /api/v1/openapi.json\`.`, ''];
  if (doc.info.description) out.push(prose(doc.info.description), '');
  out.push(...authenticationSection(doc));
  out.push('## Operations', '', '| method | path | summary | authentication |', '|---|---|---|---|');
  for (const e of entries) {
    const heading = `${e.method} ${e.path}`;
    out.push(`| ${e.method} | [${code(cell(e.path))}](#${anchorOf(heading)}) | ${cell(prose(e.operation.summary ?? ''))} | ${authOf(e.operation.security ?? doc.security)} |`);
  }
  out.push('');
  for (const e of entries) out.push(...operationSection(e, doc));
  const schemas = Object.entries(doc.components?.schemas ?? {});
  if (schemas.length > 0) {
    out.push('## Schemas', '');
    for (const [name, s] of schemas) out.push(...schemaSection(name, s));
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
