// The ChecksProvider Gerrit calls on every change page load and poll. It always answers:
// a rejected promise would reach the user only as Gerrit's opaque "Error message from
// plugin" text, so every failure is turned into a sentence here.

import {ResponseCode} from '@gerritcodereview/typescript-api/checks';
import type {
  ChangeData,
  ChecksProvider,
  FetchResponse,
} from '@gerritcodereview/typescript-api/checks';
import {fetchChecks, type FetchLike} from './api';
import type {LoadedConfig} from './config';
import {toFetchResponse, type ReviewPoster} from './runs';

export function createProvider(
  loaded: LoadedConfig,
  rest: ReviewPoster,
  fetchImpl: FetchLike
): ChecksProvider {
  return {
    async fetch(change: ChangeData): Promise<FetchResponse> {
      if (!loaded.ok) return failure(loaded.problem);
      try {
        const answer = await fetchChecks(loaded.config, change, fetchImpl);
        if (!answer.ok) return failure(answer.problem);
        // The repo of the change on screen, not the answer's: the Rerun comment goes to it.
        return toFetchResponse(answer.data, change.repo, rerunnable(change) ? rest : null);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        return failure(`crosscheck: unexpected failure: ${why}`);
      }
    },
  };
}

/** Where the shape of Gerrit's ChangeInfo that says whether a comment can start a build. */
interface ChangeState {
  status?: string;
  current_revision?: string;
  revisions?: Record<string, {_number?: unknown} | undefined>;
}

/**
 * Rerun only where a comment can start a build: on an open change's current patchset. A
 * CI ignores a recheck on an abandoned change or an old patchset, so the button would
 * post a comment and then nothing would happen.
 */
export function rerunnable(change: ChangeData): boolean {
  const info = change.changeInfo as unknown as ChangeState | undefined;
  if (info === undefined || info === null) return true;
  if (info.status !== undefined && info.status !== 'NEW') return false;
  const current =
    info.current_revision === undefined
      ? undefined
      : info.revisions?.[info.current_revision]?._number;
  return typeof current !== 'number' || current === change.patchsetNumber;
}

function failure(errorMessage: string): FetchResponse {
  return {responseCode: ResponseCode.ERROR, errorMessage};
}
