// The shape of the results service's checks answer, and a check of it: the answer comes
// over the network, so nothing downstream may trust it before it is looked at here.

export interface ResultData {
  id: string;
  ci: string;
  project: string;
  branch: string | null;
  change: number;
  patchset: number;
  revision: string | null;
  job: string;
  /** passed, failed, unstable, in_progress, skipped, not_registered; or a newer service's. */
  value: string;
  url: string | null;
  duration: number | null;
  duration_text: string | null;
  voting: boolean;
  category: string | null;
  rerun: boolean;
  comment: string | null;
  reported_at: string;
}

export interface CIData {
  name: string;
  info_url: string | null;
  expected: boolean;
  rerun_comment: string | null;
  results: ResultData[];
}

export interface ChecksData {
  change: number;
  patchset: number;
  project: string | null;
  page_url: string | null;
  cis: CIData[];
}

type Fields = Record<string, unknown>;

/** The answer as ChecksData, or a sentence saying what is wrong with it. */
export function readChecksData(value: unknown): ChecksData | string {
  if (!isObject(value)) return 'the answer is not a JSON object';
  if (!Array.isArray(value['cis'])) return 'the answer has no "cis" list';
  const cis: CIData[] = [];
  for (const [i, item] of value['cis'].entries()) {
    const ci = readCI(item);
    if (typeof ci === 'string') return `cis[${i}]: ${ci}`;
    cis.push(ci);
  }
  if (!isInt(value['change']) || !isInt(value['patchset'])) {
    return 'the answer has no change and patchset numbers';
  }
  return {
    change: value['change'],
    patchset: value['patchset'],
    project: optionalText(value['project']),
    page_url: optionalText(value['page_url']),
    cis,
  };
}

function readCI(value: unknown): CIData | string {
  if (!isObject(value)) return 'not an object';
  const name = value['name'];
  if (typeof name !== 'string' || name === '') return 'no name';
  if (!Array.isArray(value['results'])) return `${name}: no "results" list`;
  const results: ResultData[] = [];
  for (const [i, item] of value['results'].entries()) {
    const result = readResult(item);
    if (typeof result === 'string') return `${name}: results[${i}]: ${result}`;
    results.push(result);
  }
  return {
    name,
    info_url: optionalText(value['info_url']),
    expected: value['expected'] === true,
    rerun_comment: optionalText(value['rerun_comment']),
    results,
  };
}

function readResult(value: unknown): ResultData | string {
  if (!isObject(value)) return 'not an object';
  for (const key of ['id', 'ci', 'job', 'value', 'reported_at'] as const) {
    if (typeof value[key] !== 'string') return `no "${key}" text`;
  }
  if (!isInt(value['change']) || !isInt(value['patchset'])) {
    return 'no change and patchset numbers';
  }
  const duration = value['duration'];
  return {
    id: value['id'] as string,
    ci: value['ci'] as string,
    project: typeof value['project'] === 'string' ? value['project'] : '',
    branch: optionalText(value['branch']),
    change: value['change'],
    patchset: value['patchset'],
    revision: optionalText(value['revision']),
    job: value['job'] as string,
    value: value['value'] as string,
    url: optionalText(value['url']),
    duration:
      typeof duration === 'number' && Number.isFinite(duration) && duration >= 0
        ? duration
        : null,
    duration_text: optionalText(value['duration_text']),
    // Only an explicit false makes a job non-voting, as in the service's own model.
    voting: value['voting'] !== false,
    category: optionalText(value['category']),
    rerun: value['rerun'] === true,
    comment: optionalText(value['comment']),
    reported_at: value['reported_at'] as string,
  };
}

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

function optionalText(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
