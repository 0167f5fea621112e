// The bundled CLI's string-width (scripts/bundle.js aliases it): the same widths, but the real package,
// whose module builds Unicode-property regexes and an Intl.Segmenter as it loads, is loaded only for text
// that is not printable ASCII. Printable ASCII is one column a character in every version of it.
import { createRequire } from 'node:module';

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
let full;

export default function stringWidth(text, options) {
  if (typeof text === 'string' && PRINTABLE_ASCII.test(text)) return text.length;
  full ??= createRequire(import.meta.url)('string-width').default;
  return full(text, options);
}
