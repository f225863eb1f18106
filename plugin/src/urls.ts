// Every URL Gerrit gets from this plugin came from a CI or the results service: only plain
// web links go through, so no javascript: or data: URL can ever sit behind a click.

/** The URL when it is an absolute http(s) URL, otherwise null. */
export function safeHttpUrl(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  let url: URL;
  try {
    // No base URL: a relative link has no meaning here and must fail to parse.
    url = new URL(trimmed);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  // user:password@ in a link is either a leaked secret or a host dressed as another.
  if (url.username !== '' || url.password !== '') return null;
  return url.href;
}
