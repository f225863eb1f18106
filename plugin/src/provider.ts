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
        return toFetchResponse(answer.data, change.repo, rest);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        return failure(`crosscheck: unexpected failure: ${why}`);
      }
    },
  };
}

function failure(errorMessage: string): FetchResponse {
  return {responseCode: ResponseCode.ERROR, errorMessage};
}
