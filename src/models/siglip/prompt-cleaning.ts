/**
 * The text cleaning open_clip applies before its Hugging Face tokenizer (open_clip tokenizer.py: basic_clean, then
 * one of three clean functions named by text_cfg.tokenizer_kwargs.clean). Its SigLIP configs use 'canonicalize',
 * big_vision's prompt canonicalisation: underscores to spaces, ASCII punctuation removed, lower case, whitespace
 * collapsed. basic_clean's ftfy repair of broken Unicode is not reproduced (prompts advood builds are plain text); its
 * double HTML unescape is, for the entities prompts meet (&amp; &lt; &gt; &quot; &#39;).
 */
export type PromptCleaning = 'canonicalize' | 'lower' | 'whitespace';

const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity]!);
}

function collapseWhitespace(text: string): string {
  return text.split(/\s+/).filter(Boolean).join(' ');
}

export function cleanPrompt(text: string, cleaning: PromptCleaning): string {
  const basic = unescapeHtml(unescapeHtml(text)).trim();
  if (cleaning === 'whitespace') return collapseWhitespace(basic);
  if (cleaning === 'lower') return collapseWhitespace(basic).toLowerCase();
  return collapseWhitespace(basic.replaceAll('_', ' ').replace(ASCII_PUNCTUATION, '').toLowerCase());
}
