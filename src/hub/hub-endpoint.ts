/**
 * Which Hub advood talks to and as whom. @huggingface/hub takes both as parameters and reads neither variable
 * itself, so advood reads them here once, as huggingface_hub does: HF_ENDPOINT (default https://huggingface.co)
 * and HF_TOKEN, a flag winning over the variable.
 */
import { UserError } from '../core/errors.js';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
}

/** The read token: HF_TOKEN when it is an hf_ token (public repositories need none, so anything else is no token). */
export function hubReadToken(): string | undefined {
  return process.env.HF_TOKEN?.startsWith('hf_') ? process.env.HF_TOKEN : undefined;
}

/**
 * The write token: `--token`, else HF_TOKEN. @huggingface/hub refuses any token not starting with `hf_`
 * (checkAccessToken), so advood refuses it first, with the flag's name instead of a library stack.
 */
export function hubToken(flag: string | undefined, endpoint: string): string {
  const token = flag ?? process.env.HF_TOKEN;
  const where = flag !== undefined ? '--token' : 'HF_TOKEN';
  if (!token) throw new UserError(`no Hugging Face token: pass --token hf_… or set HF_TOKEN (a write token from ${endpoint}/settings/tokens)`);
  if (!token.startsWith('hf_')) throw new UserError(`${where} does not look like a Hugging Face token (it must start with hf_; make one at ${endpoint}/settings/tokens)`);
  return token;
}
