// How the results service's answer looks in Gerrit's Checks tab. Pure: the only outside
// thing it touches is the REST API handed in, and only when a user clicks "Rerun".

import {
  Category,
  LinkIcon,
  ResponseCode,
  RunStatus,
  TagColor,
} from '@gerritcodereview/typescript-api/checks';
import type {
  Action,
  ActionResult,
  CheckResult,
  CheckRun,
  FetchResponse,
  Link,
} from '@gerritcodereview/typescript-api/checks';
import type {RestPluginApi} from '@gerritcodereview/typescript-api/rest';
import type {ChecksData, CIData, ResultData} from './response';
import {cap, firstLine} from './text';
import {safeHttpUrl} from './urls';

/** All the mapping needs of Gerrit's REST API, so tests can stand in for it. */
export type ReviewPoster = Pick<RestPluginApi, 'post'>;

/** Gerrit cuts summaries at ~80 characters on screen; the rest shows in a tooltip. */
export const SUMMARY_MAX = 200;
/** Gerrit does not limit messages, so a CI's pasted log would all land in the page. */
export const MESSAGE_MAX = 10_000;

export const MISSING_DESCRIPTION = 'expected on this project; has not reported on this patchset';

// A Map, not an object: a value such as "constructor" must not find Object's prototype.
const CATEGORIES: ReadonlyMap<string, Category> = new Map([
  ['passed', Category.SUCCESS],
  ['failed', Category.ERROR],
  ['unstable', Category.WARNING],
  ['skipped', Category.INFO],
  ['not_registered', Category.INFO],
]);

/** `rest` null: no Rerun is offered (the change is closed, or the patchset is old). */
export function toFetchResponse(
  data: ChecksData,
  repo: string,
  rest: ReviewPoster | null
): FetchResponse {
  const runs: CheckRun[] = [];
  const reported: Array<{run: CheckRun; at: number}> = [];
  for (const ci of data.cis) {
    const actions = rerunActions(ci, repo, rest);
    if (ci.results.length === 0) {
      if (ci.expected) runs.push(missingRun(ci, data, actions));
      continue;
    }
    for (const result of ci.results) {
      const run = resultRun(ci, result, actions);
      runs.push(run);
      reported.push({run, at: timeOf(result.reported_at) ?? 0});
    }
  }
  numberAttempts(reported);
  const response: FetchResponse = {responseCode: ResponseCode.OK, runs};
  const page = safeHttpUrl(data.page_url);
  if (page !== null) {
    response.links = [
      {url: page, tooltip: 'All CI results of this change', primary: false, icon: LinkIcon.HISTORY},
    ];
  }
  return response;
}

export function checkName(result: ResultData): string {
  return `${result.ci} / ${result.job}`;
}

export function categoryOf(value: string): Category {
  // A value from a newer service than this plugin knows is shown, but blocks nothing.
  return CATEGORIES.get(value) ?? Category.INFO;
}

function resultRun(ci: CIData, result: ResultData, actions: Action[]): CheckRun {
  const running = result.value === 'in_progress';
  const run: CheckRun = {
    change: result.change,
    patchset: result.patchset,
    externalId: result.id,
    checkName: checkName(result),
    checkDescription:
      `Job ${result.job} of ${ci.name}` + (result.voting ? '' : ' (non-voting)'),
    status: running ? RunStatus.RUNNING : RunStatus.COMPLETED,
  };
  const info = safeHttpUrl(ci.info_url);
  if (info !== null) run.checkLink = info;
  const logs = safeHttpUrl(result.url);
  if (logs !== null) run.statusLink = logs;
  if (actions.length > 0) run.actions = actions;
  const at = timeOf(result.reported_at);
  if (at !== null) {
    // The service keeps when a result was reported; with a duration that dates the start.
    const started = result.duration === null ? null : at - result.duration * 1000;
    if (running) {
      run.startedTimestamp = new Date(started ?? at);
    } else {
      run.finishedTimestamp = new Date(at);
      if (started !== null) run.startedTimestamp = new Date(started);
    }
  }
  if (!running) run.results = [checkResult(result, logs)];
  return run;
}

function checkResult(result: ResultData, logs: string | null): CheckResult {
  const checkResult: CheckResult = {
    externalId: result.id,
    category: categoryOf(result.value),
    summary: summaryOf(result),
  };
  const comment = result.comment ?? '';
  if (comment.trim() !== '') checkResult.message = cap(comment, MESSAGE_MAX);
  if (!result.voting) {
    checkResult.tags = [
      {name: 'non-voting', tooltip: 'This job does not vote', color: TagColor.GRAY},
    ];
  }
  if (logs !== null) {
    const link: Link = {url: logs, tooltip: 'logs', primary: true, icon: LinkIcon.EXTERNAL};
    checkResult.links = [link];
  }
  return checkResult;
}

export function summaryOf(result: ResultData): string {
  const said = firstLine(result.comment ?? '');
  if (said !== '') return cap(said, SUMMARY_MAX);
  const outcome = result.value.replace(/_/g, ' ');
  const took = result.duration_text === null ? '' : ` in ${result.duration_text}`;
  return cap(outcome + took, SUMMARY_MAX);
}

function missingRun(ci: CIData, data: ChecksData, actions: Action[]): CheckRun {
  const run: CheckRun = {
    change: data.change,
    patchset: data.patchset,
    checkName: ci.name,
    checkDescription: `${ci.name} is expected to report on every patchset of this project`,
    status: RunStatus.RUNNABLE,
    statusDescription: MISSING_DESCRIPTION,
  };
  const info = safeHttpUrl(ci.info_url);
  if (info !== null) run.checkLink = info;
  if (actions.length > 0) run.actions = actions;
  return run;
}

function rerunActions(ci: CIData, repo: string, rest: ReviewPoster | null): Action[] {
  const comment = ci.rerun_comment;
  if (rest === null || comment === null || comment.trim() === '') return [];
  return [
    {
      name: 'Rerun',
      tooltip:
        `Posts the comment "${comment}" on this patchset as you, ` +
        `so that ${ci.name} runs again`,
      primary: true,
      // Posted through Gerrit's own REST API with the user's session: the CI sees an
      // ordinary comment from the user, exactly as if they had typed it.
      callback: (change: number, patchset: number) =>
        postComment(rest, repo, change, patchset, comment),
    },
  ];
}

export function reviewPath(repo: string, change: number, patchset: number): string {
  return `/changes/${encodeURIComponent(repo)}~${change}/revisions/${patchset}/review`;
}

async function postComment(
  rest: ReviewPoster,
  repo: string,
  change: number,
  patchset: number,
  comment: string
): Promise<ActionResult> {
  try {
    await rest.post(reviewPath(repo, change, patchset), {message: comment});
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return {errorMessage: cap(`Could not post "${comment}": ${why}`, SUMMARY_MAX)};
  }
  return {message: `Posted "${comment}"`, shouldReload: true};
}

/**
 * Gerrit refuses two runs of one name unless each has an attempt number, and the service
 * may one day send a job's older result too; numbering every reported run by time keeps
 * the tab working either way, and a single attempt shows no attempt number at all.
 */
function numberAttempts(reported: Array<{run: CheckRun; at: number}>): void {
  const byName = new Map<string, Array<{run: CheckRun; at: number}>>();
  for (const entry of reported) {
    const same = byName.get(entry.run.checkName);
    if (same === undefined) byName.set(entry.run.checkName, [entry]);
    else same.push(entry);
  }
  for (const same of byName.values()) {
    same.sort((a, b) => a.at - b.at);
    same.forEach((entry, i) => {
      entry.run.attempt = i + 1;
    });
  }
}

function timeOf(iso: string): number | null {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : at;
}
