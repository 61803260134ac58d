// A reference reading of an event stream, written straight from the WHATWG HTML standard
// ("9.2.6 Interpreting an event stream") for differential tests: the whole stream at once,
// decoded by TextDecoder (which drops one leading BOM and replaces ill-formed UTF-8 the same way
// the standard's UTF-8 decode does), then line by line. Test-only; never incremental.

/**
 * @typedef {object} ReferenceBlock  lines ended by a blank line
 * @property {boolean} dispatched    a browser dispatches it (its data buffer isn't empty)
 * @property {string} event          the event type buffer ("" = "message")
 * @property {string} data           the data, its last LF removed
 * @property {boolean} hasId         an id field without NUL set the last event ID
 * @property {string} id             the last such id
 * @property {string} retry          the last retry value made of ASCII digits ("" when none)
 */

/**
 * The blocks a browser's parser ends with a blank line, in order. The lines after the last blank
 * line are left out: the standard discards them.
 * @param {Uint8Array} bytes
 * @returns {ReferenceBlock[]}
 */
export function referenceBlocks(bytes) {
  const text = new TextDecoder('utf-8').decode(bytes);
  /** @type {ReferenceBlock[]} */
  const blocks = [];
  let data = '';
  let event = '';
  let hasId = false;
  let id = '';
  let retry = '';
  const lineEnd = /\r\n|\r|\n/g;
  let pos = 0;
  for (let m = lineEnd.exec(text); m !== null; m = lineEnd.exec(text)) {
    const line = text.slice(pos, m.index);
    pos = lineEnd.lastIndex;
    if (line === '') {
      blocks.push({ dispatched: data !== '', event, data: data.endsWith('\n') ? data.slice(0, -1) : data, hasId, id, retry });
      data = '';
      event = '';
      hasId = false;
      id = '';
      retry = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') data += `${value}\n`;
    else if (name === 'event') event = value;
    else if (name === 'id' && !value.includes('\u0000')) {
      hasId = true;
      id = value;
    } else if (name === 'retry' && /^[0-9]+$/.test(value)) retry = value;
  }
  return blocks;
}
