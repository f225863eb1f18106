import assert from 'node:assert/strict';
import {test} from 'node:test';
import {
  Category,
  LinkIcon,
  ResponseCode,
  RunStatus,
  TagColor,
} from '@gerritcodereview/typescript-api/checks';
import type {CheckRun, FetchResponse} from '@gerritcodereview/typescript-api/checks';
import {
  MESSAGE_MAX,
  MISSING_DESCRIPTION,
  SUMMARY_MAX,
  reviewPath,
  toFetchResponse,
} from '../src/runs';
import {ELLIPSIS} from '../src/text';
import {REPORTED_AT, checksData, ci, fakeRest, result} from './fixtures';

function runsOf(response: FetchResponse): CheckRun[] {
  assert.equal(response.responseCode, ResponseCode.OK);
  assert.ok(response.runs);
  return response.runs;
}

function onlyRun(response: FetchResponse): CheckRun {
  const runs = runsOf(response);
  assert.equal(runs.length, 1);
  const run = runs[0];
  assert.ok(run);
  return run;
}

function map(...cis: ReturnType<typeof ci>[]): FetchResponse {
  return toFetchResponse(checksData(cis), 'sandbox/p', fakeRest());
}

test('each result value gets its category', () => {
  const expected: Array<[string, Category]> = [
    ['passed', Category.SUCCESS],
    ['failed', Category.ERROR],
    ['unstable', Category.WARNING],
    ['skipped', Category.INFO],
    ['not_registered', Category.INFO],
    ['something_newer', Category.INFO],
    ['constructor', Category.INFO],
  ];
  for (const [value, category] of expected) {
    const run = onlyRun(map(ci({results: [result({value})]})));
    assert.equal(run.status, RunStatus.COMPLETED, value);
    assert.equal(run.results?.length, 1, value);
    assert.equal(run.results?.[0]?.category, category, value);
  }
});

test('a completed run is named, linked and dated from its result', () => {
  const run = onlyRun(map(ci({results: [result({id: 'r-7', duration: 12.5})]})));
  assert.equal(run.checkName, 'Acme CI / tempest');
  assert.match(run.checkDescription ?? '', /Acme CI/);
  assert.equal(run.externalId, 'r-7');
  assert.equal(run.change, 12);
  assert.equal(run.patchset, 3);
  assert.equal(run.checkLink, 'https://ci.example.org/acme');
  assert.equal(run.statusLink, 'https://logs.example.org/12/3/tempest/');
  assert.equal(run.labelName, undefined);
  assert.equal(run.attempt, 1);
  const finished = Date.parse(REPORTED_AT);
  assert.equal(run.finishedTimestamp?.getTime(), finished);
  assert.equal(run.startedTimestamp?.getTime(), finished - 12_500);
  const checkResult = run.results?.[0];
  assert.ok(checkResult);
  assert.equal(checkResult.externalId, 'r-7');
  assert.deepEqual(checkResult.links, [
    {
      url: 'https://logs.example.org/12/3/tempest/',
      tooltip: 'logs',
      primary: true,
      icon: LinkIcon.EXTERNAL,
    },
  ]);
  assert.equal(checkResult.tags, undefined);
});

test('a completed run without a duration has no start time', () => {
  const run = onlyRun(map(ci({results: [result({duration: null, duration_text: null})]})));
  assert.equal(run.startedTimestamp, undefined);
  assert.equal(run.finishedTimestamp?.getTime(), Date.parse(REPORTED_AT));
  assert.equal(run.results?.[0]?.summary, 'passed');
});

test('a running job is a RUNNING run without results', () => {
  const run = onlyRun(map(ci({results: [result({value: 'in_progress', duration: null})]})));
  assert.equal(run.status, RunStatus.RUNNING);
  assert.equal(run.results, undefined);
  assert.equal(run.finishedTimestamp, undefined);
  assert.equal(run.startedTimestamp?.getTime(), Date.parse(REPORTED_AT));
});

test('the summary says the outcome and duration, or the first line of the comment', () => {
  const plain = onlyRun(map(ci({results: [result({value: 'failed'})]})));
  assert.equal(plain.results?.[0]?.summary, 'failed in 3m 2s');
  assert.equal(plain.results?.[0]?.message, undefined);

  const notRegistered = onlyRun(map(ci({results: [result({value: 'not_registered'})]})));
  assert.equal(notRegistered.results?.[0]?.summary, 'not registered in 3m 2s');

  const comment = '\n  3 tests failed  \nsecond line\nthird line';
  const commented = onlyRun(map(ci({results: [result({value: 'failed', comment})]})));
  assert.equal(commented.results?.[0]?.summary, '3 tests failed');
  assert.equal(commented.results?.[0]?.message, comment);
});

test('long comments are capped in the summary and the message', () => {
  const comment = 'x'.repeat(SUMMARY_MAX * 2) + '\n' + 'y'.repeat(MESSAGE_MAX * 2);
  const run = onlyRun(map(ci({results: [result({comment})]})));
  const summary = run.results?.[0]?.summary ?? '';
  const message = run.results?.[0]?.message ?? '';
  assert.equal(summary.length, SUMMARY_MAX);
  assert.ok(summary.endsWith(ELLIPSIS));
  assert.equal(message.length, MESSAGE_MAX);
  assert.ok(message.endsWith(ELLIPSIS));
  assert.ok(message.startsWith('x'.repeat(SUMMARY_MAX * 2)));
});

test('a non-voting job is tagged gray', () => {
  const run = onlyRun(map(ci({results: [result({voting: false})]})));
  assert.deepEqual(run.results?.[0]?.tags?.map(t => [t.name, t.color]), [
    ['non-voting', TagColor.GRAY],
  ]);
  assert.match(run.checkDescription ?? '', /non-voting/);
});

test('an expected CI that has not reported gets a RUNNABLE run', () => {
  const response = map(
    ci({name: 'Acme CI', results: []}),
    ci({name: 'Other CI', expected: false, results: []})
  );
  const run = onlyRun(response);
  assert.equal(run.checkName, 'Acme CI');
  assert.equal(run.status, RunStatus.RUNNABLE);
  assert.equal(run.statusDescription, MISSING_DESCRIPTION);
  assert.equal(run.checkLink, 'https://ci.example.org/acme');
  assert.equal(run.results, undefined);
  assert.equal(run.attempt, undefined);
  assert.equal(run.change, 12);
  assert.equal(run.patchset, 3);
});

test('an expected CI that has reported gets no RUNNABLE run', () => {
  const runs = runsOf(map(ci({expected: true})));
  assert.deepEqual(
    runs.map(r => r.status),
    [RunStatus.COMPLETED]
  );
});

test('only absolute http and https URLs are passed on as links', () => {
  const unsafe = [
    'javascript:alert(1)',
    ' JavaScript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    '/logs/12/3/',
    'logs.example.org/12',
    'http//missing-colon',
    'ftp://files.example.org/log',
    'http://user:pass@evil.example/',
    'https://ci.example.org@evil.example/',
    '',
  ];
  for (const url of unsafe) {
    const cis = [
      ci({info_url: url, results: [result({url})]}),
      ci({name: 'B', info_url: url, results: []}),
    ];
    const response = toFetchResponse(checksData(cis, {page_url: url}), 'sandbox/p', fakeRest());
    const [reported, missing] = runsOf(response);
    assert.ok(reported && missing, url);
    assert.equal(reported.checkLink, undefined, url);
    assert.equal(reported.statusLink, undefined, url);
    assert.equal(reported.results?.[0]?.links, undefined, url);
    assert.equal(missing.checkLink, undefined, url);
    assert.equal(response.links, undefined, url);
  }
  const plainHttp = result({url: 'http://logs.example.org/1'});
  const http = onlyRun(map(ci({info_url: 'http://ci.example.org/', results: [plainHttp]})));
  assert.equal(http.checkLink, 'http://ci.example.org/');
  assert.equal(http.statusLink, 'http://logs.example.org/1');
});

test('the change page of all results is a top-level history link', () => {
  const response = map(ci());
  assert.deepEqual(response.links, [
    {
      url: 'https://results.example.org/changes/12',
      tooltip: 'All CI results of this change',
      primary: false,
      icon: LinkIcon.HISTORY,
    },
  ]);
  const without = toFetchResponse(checksData([ci()], {page_url: null}), 'sandbox/p', fakeRest());
  assert.equal(without.links, undefined);
});

test('a Rerun action exists only for CIs with a rerun comment', () => {
  const response = map(
    ci({
      name: 'Acme CI',
      rerun_comment: 'recheck acme',
      results: [result(), result({id: 'r-2', job: 'pep8'})],
    }),
    ci({name: 'Quiet CI', rerun_comment: null, results: [result({ci: 'Quiet CI'})]}),
    ci({name: 'Blank CI', rerun_comment: '  ', results: [result({ci: 'Blank CI'})]}),
    ci({name: 'Missing CI', rerun_comment: 'recheck missing', results: []})
  );
  const actionsByName = new Map(runsOf(response).map(r => [r.checkName, r.actions]));
  assert.equal(actionsByName.get('Acme CI / tempest')?.[0]?.name, 'Rerun');
  assert.equal(actionsByName.get('Acme CI / pep8')?.[0]?.name, 'Rerun');
  assert.match(actionsByName.get('Acme CI / tempest')?.[0]?.tooltip ?? '', /recheck acme.*as you/);
  assert.equal(actionsByName.get('Quiet CI / tempest'), undefined);
  assert.equal(actionsByName.get('Blank CI / tempest'), undefined);
  assert.equal(actionsByName.get('Missing CI')?.[0]?.name, 'Rerun');
});

test('Rerun posts the comment as the user through Gerrit and asks for a reload', async () => {
  const rest = fakeRest();
  const response = toFetchResponse(
    checksData([ci({rerun_comment: 'recheck acme'})]),
    'sandbox/p',
    rest
  );
  const action = onlyRun(response).actions?.[0];
  assert.ok(action);
  const answer = await action.callback(12, 3, 1, 'result-1', 'Acme CI / tempest', 'Rerun');
  assert.deepEqual(rest.posted, [
    {url: '/changes/sandbox%2Fp~12/revisions/3/review', payload: {message: 'recheck acme'}},
  ]);
  assert.deepEqual(answer, {message: 'Posted "recheck acme"', shouldReload: true});
});

test('a failed Rerun reports the error instead of success', async () => {
  const rest = fakeRest(new Error('403 Forbidden'));
  const response = toFetchResponse(
    checksData([ci({rerun_comment: 'recheck acme', results: []})]),
    'sandbox/p',
    rest
  );
  const action = onlyRun(response).actions?.[0];
  assert.ok(action);
  const answer = await action.callback(12, 4, undefined, undefined, 'Acme CI', 'Rerun');
  assert.equal(rest.posted[0]?.url, '/changes/sandbox%2Fp~12/revisions/4/review');
  assert.equal(answer?.message, undefined);
  assert.equal(answer?.shouldReload, undefined);
  assert.match(answer?.errorMessage ?? '', /recheck acme.*403 Forbidden/);
});

test('the review path encodes the whole repo name', () => {
  assert.equal(reviewPath('a/b c', 5, 2), '/changes/a%2Fb%20c~5/revisions/2/review');
});

test('two results of one job become numbered attempts, oldest first', () => {
  const runs = runsOf(
    map(
      ci({
        results: [
          result({id: 'new', reported_at: '2026-12-06T11:00:00+00:00'}),
          result({id: 'old', reported_at: '2026-12-06T09:00:00+00:00'}),
        ],
      })
    )
  );
  assert.deepEqual(
    runs.map(r => [r.externalId, r.attempt]),
    [
      ['new', 2],
      ['old', 1],
    ]
  );
});
