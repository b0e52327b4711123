// The /api/v1 routes. Each write route runs: method → token → content type → body → validation →
// controller; anything refused before the last step has changed nothing.
import { Router, type Request, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { TargetUrlPolicy } from '../notify/url.js';
import type { ControllerApi } from '../types.js';
import { jsonBody } from './body.js';
import { ApiError, methodNotAllowed, notFound } from './errors.js';
import { openApiDocument } from './openapi.js';
import { streamJobEvents, type SseOptions } from './sse.js';
import { gcBodySchema, noQuery, parseAttach, parseBuildRequests, parseHistoryQuery, parseJobId, parseJobsQuery, parsePin, parsePromote, parseSeriesParams, parseUnpin, parseWith, reconcileBodySchema, rollbackBodySchema } from './validate.js';
import { jobLinks, jobView, scrub } from './views.js';

export interface RouteDeps {
  controller: ControllerApi;
  read: RequestHandler;
  write: RequestHandler;
  bodyLimitBytes: number;
  callbacks: TargetUrlPolicy;
  sse: SseOptions;
  logger: Logger;
  now: () => Date;
}

const actor = (res: { locals: Record<string, unknown> }): string => String(res.locals['actor']);

function existingJob(controller: ControllerApi, req: Request<{ id: string }>) {
  const id = parseJobId(req.params.id);
  const job = controller.job(id);
  if (!job) throw notFound(`no job ${id}`);
  return job;
}

export function apiRouter(deps: RouteDeps): Router {
  const { controller, read, write } = deps;
  const body = jsonBody(deps.bodyLimitBytes);
  const router = Router({ strict: false });

  router.route('/openapi.json').get((_req, res) => {
    res.json(openApiDocument());
  }).all(methodNotAllowed(['GET']));

  router
    .route('/builds')
    .get(read, (req, res) => {
      res.json({ jobs: controller.jobs(parseJobsQuery(req.query)).map(jobView) });
    })
    .post(write, ...body, async (req, res) => {
      noQuery(req.query);
      const requests = parseBuildRequests(req.body, deps.callbacks);
      const jobs = await controller.submit(requests, 'api', actor(res));
      if (jobs.length === 1 && jobs[0]) res.location(jobLinks(jobs[0].id).self);
      res.status(202).json({ jobs: jobs.map((j) => ({ id: j.id, state: j.state, links: jobLinks(j.id) })) });
    })
    .all(methodNotAllowed(['GET', 'POST']));

  router
    .route('/builds/:id')
    .get(read, (req, res) => {
      noQuery(req.query);
      res.json({ job: jobView(existingJob(controller, req)) });
    })
    .delete(write, async (req, res) => {
      const job = existingJob(controller, req);
      if (!(await controller.cancel(job.id, actor(res)))) {
        const now = controller.job(job.id) ?? job;
        throw new ApiError(409, 'conflict', `job ${job.id} cannot be cancelled: it is ${now.state}`);
      }
      res.status(202).json({ job: jobView(controller.job(job.id) ?? job) });
    })
    .all(methodNotAllowed(['GET', 'DELETE']));

  router
    .route('/builds/:id/events')
    .get(read, (req, res) => {
      noQuery(req.query);
      const job = existingJob(controller, req);
      // A HEAD request would otherwise hold the connection open until the job ends.
      if (req.method === 'HEAD') {
        res.status(200).type('text/event-stream').end();
        return;
      }
      streamJobEvents(controller, job.id, req, res, deps.sse, deps.logger);
    })
    .all(methodNotAllowed(['GET']));

  router.route('/trains').get(read, (req, res) => {
    noQuery(req.query);
    res.json({ trains: scrub(controller.trains()) });
  }).all(methodNotAllowed(['GET']));

  router.route('/status').get(read, async (req, res) => {
    noQuery(req.query);
    res.json(scrub(await controller.status()));
  }).all(methodNotAllowed(['GET']));

  router.route('/history').get(read, (req, res) => {
    res.json({ entries: scrub(controller.history(parseHistoryQuery(req.query))) });
  }).all(methodNotAllowed(['GET']));

  router.route('/reconcile').post(write, ...body, async (req, res) => {
    noQuery(req.query);
    const options = parseWith(reconcileBodySchema, req.body ?? {});
    res.json({ dryRun: options.dryRun ?? false, result: scrub(await controller.reconcile(options, actor(res))) });
  }).all(methodNotAllowed(['POST']));

  router.route('/promote').post(write, ...body, async (req, res) => {
    noQuery(req.query);
    const { ref } = parsePromote(req.body);
    res.json(await controller.promote(ref, actor(res)));
  }).all(methodNotAllowed(['POST']));

  router
    .route('/pins')
    .post(write, ...body, async (req, res) => {
      noQuery(req.query);
      const pin = parsePin(req.body, deps.now());
      const options = { ...(pin.expiresAt ? { expiresAt: pin.expiresAt } : {}), ...(pin.note ? { note: pin.note } : {}) };
      const result = await controller.pin(pin.ref, pin.name, options, actor(res));
      res.status(201).json({ ...result, name: pin.name, ...(pin.expiresAt ? { expiresAt: pin.expiresAt } : {}) });
    })
    .delete(write, ...body, async (req, res) => {
      noQuery(req.query);
      const { ref, name } = parseUnpin(req.body);
      await controller.unpin(ref, name, actor(res));
      res.status(204).end();
    })
    .all(methodNotAllowed(['POST', 'DELETE']));

  // Attach, detach and rollback record what the model is to run and start a reconcile pass: 202,
  // the pass itself shows in /status and /history.
  router.route('/attachments').post(write, ...body, async (req, res) => {
    noQuery(req.query);
    const { ref } = parseAttach(req.body);
    res.status(202).json(await controller.attach(ref, actor(res)));
  }).all(methodNotAllowed(['POST']));

  router.route('/attachments/:train/:release/:series').delete(write, async (req, res) => {
    noQuery(req.query);
    res.status(202).json(await controller.detach(parseSeriesParams(req.params), actor(res)));
  }).all(methodNotAllowed(['DELETE']));

  router.route('/rollback').post(write, ...body, async (req, res) => {
    noQuery(req.query);
    const options = parseWith(rollbackBodySchema, req.body ?? {});
    res.status(202).json(await controller.rollback(options, actor(res)));
  }).all(methodNotAllowed(['POST']));

  router.route('/gc').post(write, ...body, async (req, res) => {
    noQuery(req.query);
    const options = parseWith(gcBodySchema, req.body ?? {});
    res.json(scrub(await controller.gc(options, actor(res))));
  }).all(methodNotAllowed(['POST']));

  return router;
}
