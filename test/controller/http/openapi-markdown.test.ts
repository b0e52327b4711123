// The HTTP API reference: the renderer on a small document of known content, and docs/http-api.md
// kept equal to the rendering of the controller's live OpenAPI document.
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../src/controller/http/index.js';
import { anchorOf, describeSchema, openApiMarkdown } from '../../../src/controller/http/openapi-markdown.js';

const small = {
  openapi: '3.1.0',
  info: { title: 'shelf API', version: '2', description: 'Books on a shelf.' },
  security: [{}, { bearer: [] }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a write token' }, basic: { type: 'http', scheme: 'basic' } },
    schemas: {
      Book: {
        type: 'object',
        required: ['title'],
        properties: { title: { type: 'string', maxLength: 80, description: 'as printed: <title> or `<title>`' }, tags: { type: 'array', items: { type: 'string' } } },
        additionalProperties: true,
      },
      Error: { type: 'object', properties: { message: { type: 'string' } } },
    },
  },
  paths: {
    '/books/{id}': {
      delete: { summary: 'Remove a book', security: [{ bearer: [] }], parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^a|b$' } }], responses: { '404': { description: 'no such book', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }, '204': { description: 'removed' } } },
      get: {
        summary: 'One book',
        description: 'Looked up by id.',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, { name: 'full', in: 'query', schema: { enum: ['yes', 'no'] }, description: 'with tags' }],
        responses: { '200': { description: 'the book', content: { 'application/json': { schema: { type: 'object', properties: { book: { $ref: '#/components/schemas/Book' } } } } } } },
      },
    },
    '/books': {
      post: {
        summary: 'Shelve books',
        security: [{ bearer: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['title'], properties: { title: { type: 'string' }, copies: { type: 'integer', minimum: 1, maximum: 9 } } } } } },
        responses: { '201': { description: 'shelved' } },
      },
    },
    '/ping': { get: { summary: 'Up?', security: [], responses: { '200': { description: 'pong', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
  },
};

/** The lines of `text` from the heading `start` up to the next heading. */
function section(text: string, start: string): string {
  const lines = text.split('\n');
  const i = lines.indexOf(start);
  expect(i, start).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, j) => j > i && /^#+ /.test(l));
  return lines.slice(i, end < 0 ? undefined : end).join('\n');
}

/** Every `](#anchor)` link of the text points at a heading of the text. */
function expectLinksResolve(text: string): void {
  const anchors = new Set(text.split('\n').filter((l) => /^#+ /.test(l)).map((l) => anchorOf(l.replace(/^#+ /, ''))));
  const links = [...text.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] ?? '');
  expect(links.length).toBeGreaterThan(0);
  for (const link of links) expect(anchors.has(link), link).toBe(true);
}

describe('openApiMarkdown', () => {
  const text = openApiMarkdown(small);

  it('lists every path and method once, in document order and method order, with its summary and authentication', () => {
    const table = section(text, '## Operations').split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| method'));
    expect(table).toEqual([
      '| GET | [`/books/{id}`](#get-booksid) | One book | optional: `bearer` |',
      '| DELETE | [`/books/{id}`](#delete-booksid) | Remove a book | required: `bearer` |',
      '| POST | [`/books`](#post-books) | Shelve books | required: `bearer` |',
      '| GET | [`/ping`](#get-ping) | Up? | none |',
    ]);
    expect(text.split('\n').filter((l) => l.startsWith('### `'))).toEqual(['### `GET /books/{id}`', '### `DELETE /books/{id}`', '### `POST /books`', '### `GET /ping`']);
    expectLinksResolve(text);
  });

  it('renders parameters, the description, and responses sorted by status with their bodies', () => {
    const get = section(text, '### `GET /books/{id}`');
    expect(get).toContain('Looked up by id.');
    expect(get).toContain('Authentication: optional: `bearer`.');
    expect(get).toContain('| `id` | path | yes | string |  |');
    expect(get).toContain('| `full` | query | no | one of `"yes"`, `"no"` | with tags |');
    expect(get).toContain('| 200 | the book | `application/json`: object { `book?`: [Book](#schema-book) } |');
    const del = section(text, '### `DELETE /books/{id}`');
    // Pipes inside a cell are escaped so the table keeps its columns.
    expect(del).toContain('| `id` | path | yes | string (matching `^a\\|b$`) |  |');
    expect(del.indexOf('| 204 |')).toBeLessThan(del.indexOf('| 404 |'));
    expect(del).toContain('| 404 | no such book | `application/json`: [Error](#schema-error) |');
    expect(del).not.toContain('Request body');
  });

  it('renders a request body as a field table with required fields and constraints', () => {
    const post = section(text, '### `POST /books`');
    expect(post).toContain('Request body (required):');
    expect(post).toContain('| `title` | string | yes |  |');
    expect(post).toContain('| `copies` | integer (1–9) | no |  |');
    expect(post).toContain('No other fields are accepted.');
  });

  it('describes the security schemes and the shared schemas', () => {
    expect(section(text, '## Authentication')).toContain('| `bearer` | http bearer | a write token |');
    expect(section(text, '## Authentication')).toContain('| `basic` | http basic | `Authorization: Basic <base64 of name:password>` |');
    expect(section(text, '## Authentication')).toContain('Unless an operation says otherwise, authentication is optional: `bearer`.');
    const book = section(text, '### Schema Book');
    // Angle brackets in prose are escaped (else Markdown takes them for HTML), not in code spans.
    expect(book).toContain('| `title` | string (≤ 80 chars) | yes | as printed: \\<title\\> or `<title>` |');
    expect(book).toContain('| `tags` | array of string | no |  |');
    expect(book).toContain('Further fields may be present.');
  });

  it('summarises schemas in a few words', () => {
    expect(describeSchema({})).toBe('any');
    expect(describeSchema({ anyOf: [{ type: 'string' }, { type: 'null' }] })).toBe('string or null');
    expect(describeSchema({ type: 'array', minItems: 1, maxItems: 50, items: { $ref: '#/components/schemas/X' } })).toBe('array (1–50 items) of [X](#schema-x)');
    expect(describeSchema({ type: 'string', format: 'date-time' })).toBe('string (date-time)');
    expect(describeSchema({ const: 1 })).toBe('`1`');
  });

  it('links parameters, bodies and responses defined elsewhere', () => {
    const withRefs = {
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      paths: { '/x': { put: { parameters: [{ $ref: '#/components/parameters/Id' }], requestBody: { $ref: '#/components/requestBodies/X' }, responses: { '200': { $ref: '#/components/responses/Ok' } } } } },
    };
    const put = section(openApiMarkdown(withRefs), '### `PUT /x`');
    expect(put).toContain('| [Id](#schema-id) | | | | |');
    expect(put).toContain('Request body: [X](#schema-x)');
    expect(put).toContain('| 200 | [Ok](#schema-ok) | |');
    expect(put).toContain('Authentication: none.');
  });

  it('refuses what is not an OpenAPI document, saying where', () => {
    expect(() => openApiMarkdown({ openapi: '3.1.0', info: { title: 't', version: '1' }, paths: { '/x': { get: { summary: 'no responses' } } } })).toThrow(/paths\.\/x\.get\.responses/);
    expect(() => openApiMarkdown('openapi')).toThrow(/not an OpenAPI document/);
  });
});

describe('HTTP API reference', () => {
  it('is rendered from the live OpenAPI document and kept in docs/http-api.md', async () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
    const text = openApiMarkdown(doc);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) expect(text).toContain(`### \`${method.toUpperCase()} ${path}\``);
    }
    expectLinksResolve(text);
    await expect(text).toMatchFileSnapshot('../../../docs/http-api.md');
  });
});
