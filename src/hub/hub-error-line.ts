/**
 * One line for a failed Hub call. @huggingface/hub throws HubApiError (statusCode, url, the server's `error`
 * text) or, when nothing answered, fetch's TypeError; the user needs to know which of their inputs to fix.
 */
import { HubApiError } from '@huggingface/hub';
import { UserError, errorMessage } from '../core/errors.js';

export interface HubCallContext {
  endpoint: string;
  /** "owner/name". */
  repo: string;
  revision: string;
  /** What was being done, e.g. "pushing release/ to". */
  action: string;
}

function serverSays(error: HubApiError): string {
  const text = error.message.split('. URL:')[0]!.trim();
  return text && !/^Api error with status/.test(text) ? `: ${text}` : '';
}

export function hubErrorLine(error: unknown, context: HubCallContext): UserError {
  if (error instanceof UserError) return error;
  const where = `${context.action} ${context.repo}@${context.revision} on ${context.endpoint}`;
  if (error instanceof HubApiError) {
    const says = serverSays(error);
    switch (error.statusCode) {
      case 401:
        return new UserError(`${where}: the Hub refused the token (HTTP 401${says}); check --token / HF_TOKEN`, { cause: error });
      case 403:
        return new UserError(`${where}: the token may not do this (HTTP 403${says}); it needs write access to ${context.repo.split('/')[0]}`, { cause: error });
      case 404:
        return new UserError(`${where}: not found (HTTP 404${says}); check the repository name and revision`, { cause: error });
      case 409:
        return new UserError(`${where}: the repository already exists but this token cannot see it (HTTP 409${says})`, { cause: error });
      case 412:
        return new UserError(`${where}: '${context.revision}' moved while pushing (HTTP 412: someone else committed); rerun to push on top of the new head`, { cause: error });
      case 429:
        return new UserError(`${where}: rate limited by the Hub (HTTP 429) after retries; wait and rerun`, { cause: error });
      default:
        return new UserError(`${where}: the Hub answered HTTP ${error.statusCode}${says}${error.statusCode >= 500 ? ' after retries; rerun later' : ''}`, { cause: error });
    }
  }
  return new UserError(`${where}: cannot reach the Hub (${networkReason(error)}); check HF_ENDPOINT and the network`, { cause: error });
}

/** fetch's TypeError says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause. */
export function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return [errorMessage(error), cause?.code ?? cause?.message].filter(Boolean).join(': ');
}
