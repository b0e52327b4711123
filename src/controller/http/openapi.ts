// The OpenAPI 3.1 description of the controller API. The build request schema is generated from
// the contract's zod schema, so the two cannot drift; a test walks the express routes and checks
// that every route is documented here and every documented operation answers.
import { z } from 'zod';
import { JOB_STATES, buildRequestSchema } from '../types.js';
import { MAX_REQUESTS_PER_SUBMIT } from './validate.js';

type Doc = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: json(ref('Error')) });

// Answers every operation may give besides its own.
const READ_ERRORS = { '400': error('invalid query or path parameter'), '401': error('credentials missing or invalid (private mirror only)'), '405': error('method not allowed') };
const WRITE_ERRORS = {
  '400': error('invalid JSON, unknown fields or invalid values; nothing changed'),
  '401': error('bearer token missing or invalid; nothing changed'),
  '405': error('method not allowed'),
  '413': error('body larger than the configured limit'),
  '415': error('body is not application/json'),
  '409': error('refused in the controller\'s state (this unit is not the leader); nothing changed'),
  '503': error('the controller is shutting down; nothing changed'),
};

const jobId = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$' } };
const limit = { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } };

function buildRequestJsonSchema(): Doc {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(buildRequestSchema) as Doc;
  return schema;
}

const schemas: Doc = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
  },
  BuildRequest: buildRequestJsonSchema(),
  JobLinks: { type: 'object', properties: { self: { type: 'string' }, events: { type: 'string' } } },
  RockProgress: {
    type: 'object',
    required: ['rock', 'state'],
    properties: {
      rock: { type: 'string' },
      state: { enum: ['pending', 'building', 'built', 'reused', 'failed', 'skipped'] },
      failureClass: { type: 'string' },
      durationMs: { type: 'number' },
    },
  },
  Job: {
    type: 'object',
    required: ['id', 'request', 'trigger', 'state', 'createdAt', 'rocks', 'links'],
    properties: {
      id: { type: 'string' },
      request: ref('BuildRequest'),
      trigger: { enum: ['api', 'schedule', 'cli', 'charm', 'change'] },
      state: { enum: [...JOB_STATES] },
      createdAt: { type: 'string', format: 'date-time' },
      startedAt: { type: 'string', format: 'date-time' },
      finishedAt: { type: 'string', format: 'date-time' },
      rocks: { type: 'array', items: ref('RockProgress') },
      buildId: { type: 'string' },
      result: { enum: ['success', 'fail'] },
      summary: { type: 'object' },
      error: { type: 'string' },
      links: ref('JobLinks'),
    },
    description: 'The callback URL of the request is shown as scheme and host only.',
  },
  TrainStatus: { type: 'object', required: ['name', 'release', 'series', 'attach', 'pin'], additionalProperties: true },
  ControllerStatus: { type: 'object', required: ['version', 'startedAt', 'leader', 'queue', 'trains', 'reconcile', 'builder', 'juju', 'mirror'], additionalProperties: true },
  Attachment: { type: 'object', required: ['ref', 'train', 'release', 'series', 'buildId'], properties: { ref: { type: 'string' }, train: { type: 'string' }, release: { type: 'string' }, series: { type: 'string' }, buildId: { type: 'string' } } },
  GcResult: {
    type: 'object',
    required: ['dryRun', 'retention', 'gc'],
    properties: {
      dryRun: { type: 'boolean' },
      retention: { type: 'array', items: { type: 'object', properties: { train: { type: 'string' }, release: { type: 'string' }, series: { type: 'string' }, drop: { type: 'array', items: { type: 'object', properties: { buildId: { type: 'string' }, reason: { type: 'string' } } } }, deleted: { type: 'array', items: { type: 'string' } } } } },
      gc: { type: 'object', properties: { objects: { type: 'integer' }, bytesFreed: { type: 'integer' }, referencedBlobs: { type: 'integer' }, protectedBlobs: { type: 'integer' }, builds: { type: 'integer' } } },
    },
  },
  AuditEntry: { type: 'object', required: ['at', 'actor', 'action', 'target'], properties: { at: { type: 'string' }, actor: { type: 'string' }, action: { type: 'string' }, target: { type: 'string' }, detail: { type: 'object' } } },
};

const refBody = (required: string[], properties: Doc) => ({ required: true, content: json({ type: 'object', additionalProperties: false, required, properties }) });
const refText = { type: 'string', maxLength: 300, description: '<train>/<release>/<series>/<build-id|latest|stable|pin:NAME|as-of:TIME>' };

const paths: Doc = {
  '/api/v1/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1 document', content: json({ type: 'object' }) } } } },
  '/api/v1/builds': {
    get: {
      summary: 'List jobs, newest first',
      parameters: [{ name: 'state', in: 'query', schema: { enum: [...JOB_STATES] } }, { name: 'train', in: 'query', schema: { type: 'string' } }, limit],
      responses: { '200': { description: 'jobs', content: json({ type: 'object', properties: { jobs: { type: 'array', items: ref('Job') } } }) }, ...READ_ERRORS },
    },
    post: {
      summary: 'Queue builds: a list of requests, all accepted or none',
      security: [{ bearer: [] }],
      requestBody: { required: true, content: json({ type: 'array', minItems: 1, maxItems: MAX_REQUESTS_PER_SUBMIT, items: ref('BuildRequest') }) },
      responses: {
        '202': { description: 'queued', content: json({ type: 'object', properties: { jobs: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, state: { type: 'string' }, links: ref('JobLinks') } } } } }) },
        ...WRITE_ERRORS,
      },
    },
  },
  '/api/v1/builds/{id}': {
    get: { summary: 'One job: state, per-rock progress, summary', parameters: [jobId], responses: { '200': { description: 'the job', content: json({ type: 'object', properties: { job: ref('Job') } }) }, '404': error('no such job'), ...READ_ERRORS } },
    delete: { summary: 'Cancel a job', security: [{ bearer: [] }], parameters: [jobId], responses: { '202': { description: 'cancelling', content: json({ type: 'object', properties: { job: ref('Job') } }) }, ...WRITE_ERRORS, '404': error('no such job'), '409': error('the job has already ended, or this unit is not the leader') } },
  },
  '/api/v1/builds/{id}/events': {
    get: {
      summary: 'Follow a job (Server-Sent Events)',
      description: 'Events: `job` (the job, first its current state), `rock` ({jobId, rock}), `log` ({jobId, rock, lines}), and `end` ({jobId, state}) after which the stream closes. Comment lines are heartbeats.',
      parameters: [jobId],
      responses: { '200': { description: 'event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, '404': error('no such job'), ...READ_ERRORS },
    },
  },
  '/api/v1/trains': { get: { summary: 'Configured trains and their last runs', responses: { '200': { description: 'trains', content: json({ type: 'object', properties: { trains: { type: 'array', items: ref('TrainStatus') } } }) }, ...READ_ERRORS } } },
  '/api/v1/status': { get: { summary: 'Controller status', responses: { '200': { description: 'status', content: json(ref('ControllerStatus')) }, ...READ_ERRORS } } },
  '/api/v1/history': {
    get: { summary: 'Audit log, newest first', parameters: [limit, { name: 'action', in: 'query', schema: { type: 'string' } }], responses: { '200': { description: 'entries', content: json({ type: 'object', properties: { entries: { type: 'array', items: ref('AuditEntry') } } }) }, ...READ_ERRORS } },
  },
  '/api/v1/reconcile': {
    post: {
      summary: 'Run one reconcile pass (plan only with dryRun)',
      security: [{ bearer: [] }],
      requestBody: { required: false, content: json({ type: 'object', additionalProperties: false, properties: { dryRun: { type: 'boolean' }, force: { type: 'boolean' } } }) },
      responses: { '200': { description: 'the pass', content: json({ type: 'object', properties: { dryRun: { type: 'boolean' }, result: {} } }) }, ...WRITE_ERRORS },
    },
  },
  '/api/v1/promote': {
    post: {
      summary: 'Promote a build to stable',
      security: [{ bearer: [] }],
      requestBody: refBody(['ref'], { ref: refText }),
      responses: { '200': { description: 'promoted', content: json({ type: 'object', properties: { ref: { type: 'string' }, buildId: { type: 'string' } } }) }, '404': error('no such build'), ...WRITE_ERRORS },
    },
  },
  '/api/v1/pins': {
    post: {
      summary: 'Pin a build under a name',
      security: [{ bearer: [] }],
      requestBody: refBody(['ref', 'name'], { ref: refText, name: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' }, expiresAt: { type: 'string', format: 'date-time' }, note: { type: 'string', maxLength: 500 } }),
      responses: { '201': { description: 'pinned', content: json({ type: 'object' }) }, '404': error('no such build'), ...WRITE_ERRORS },
    },
    delete: {
      summary: 'Remove a pin',
      security: [{ bearer: [] }],
      requestBody: refBody(['ref', 'name'], { ref: { type: 'string', description: '<train>/<release>/<series>' }, name: { type: 'string' } }),
      responses: { '204': { description: 'removed' }, '404': error('no such pin'), ...WRITE_ERRORS },
    },
  },
  '/api/v1/attachments': {
    post: {
      summary: 'Run a build in the model',
      description: 'Records the build as the attachment of its train (over the configuration\'s pin of that train, until detached) and starts a reconcile pass, which attaches its images to the applications that use them.',
      security: [{ bearer: [] }],
      requestBody: refBody(['ref'], { ref: refText }),
      responses: { '202': { description: 'recorded; a reconcile pass has started', content: json(ref('Attachment')) }, '404': error('no such build'), ...WRITE_ERRORS, '400': error('invalid reference, or the build failed or has no registry images; nothing changed') },
    },
  },
  '/api/v1/attachments/{train}/{release}/{series}': {
    delete: {
      summary: 'Stop attaching a build on request',
      description: 'The next pass (started now) returns the model to the configuration\'s pin of the train when the configuration attaches it, to the original images otherwise.',
      security: [{ bearer: [] }],
      parameters: ['train', 'release', 'series'].map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      responses: {
        '202': { description: 'detached; a reconcile pass has started', content: json({ type: 'object', required: ['train', 'release', 'series', 'restores'], properties: { train: { type: 'string' }, release: { type: 'string' }, series: { type: 'string' }, restores: { enum: ['configured-pin', 'originals'] } } }) },
        ...WRITE_ERRORS,
        '409': error('nothing is attached on request for this series (or this unit is not the leader)'),
      },
    },
  },
  '/api/v1/rollback': {
    post: {
      summary: 'Roll back to the build before the one running',
      description: 'For each train heliostat runs in the model (only the one `app` runs, when given), re-attaches the successful build published before the running one and holds it there until the train is detached.',
      security: [{ bearer: [] }],
      requestBody: { required: false, content: json({ type: 'object', additionalProperties: false, properties: { app: { type: 'string', description: 'Juju application' } } }) },
      responses: {
        '202': { description: 'recorded; a reconcile pass has started', content: json({ type: 'object', properties: { rolledBack: { type: 'array', items: { type: 'object', properties: { train: { type: 'string' }, release: { type: 'string' }, series: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, apps: { type: 'array', items: { type: 'string' } } } } } } }) },
        ...WRITE_ERRORS,
        '409': error('nothing to roll back to (no earlier successful build, nothing attached), or this unit is not the leader'),
      },
    },
  },
  '/api/v1/gc': {
    post: {
      summary: 'Apply retention and collect unreferenced blobs',
      description: 'Applies each train\'s retention (never dropping latest, stable, live pins or builds running in the model), then deletes blobs no build references once older than the grace period. With dryRun, reports and deletes nothing (allowed on any unit).',
      security: [{ bearer: [] }],
      requestBody: { required: false, content: json({ type: 'object', additionalProperties: false, properties: { dryRun: { type: 'boolean' } } }) },
      responses: { '200': { description: 'what was (or would be) deleted', content: json(ref('GcResult')) }, ...WRITE_ERRORS },
    },
  },
  '/healthz': { get: { summary: 'The process is up', security: [], responses: { '200': { description: 'up', content: json({ type: 'object' }) } } } },
  '/readyz': { get: { summary: 'The controller is ready (configuration loaded, mirror reachable)', security: [], responses: { '200': { description: 'ready', content: json({ type: 'object' }) }, '503': { description: 'not ready', content: json({ type: 'object' }) } } } },
  '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...READ_ERRORS } } },
};

let cached: Doc | undefined;

export function openApiDocument(): Doc {
  cached ??= {
    openapi: '3.1.0',
    info: { title: 'heliostat controller API', version: '1', description: 'Builds, trains, promotion, pins, attachments, rollback, garbage collection and reconcile of a heliostat controller. Writes need a bearer token; reads are public unless the mirror is private.' },
    paths,
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } } },
    security: [{}, { bearer: [] }, { basic: [] }],
  };
  return cached;
}
