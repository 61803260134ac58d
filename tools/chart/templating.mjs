// Turns YAML documents into Helm template text. Chosen nodes become placeholders while the
// document is still YAML, so the yaml package writes everything else as it was read (comments,
// quoting, flow lists); then each placeholder is swapped for template text.

/**
 * A placeholder's replacement: `inline` replaces the placeholder alone; `line` replaces the whole
 * line holding it, given that line's indentation and the text between it and the placeholder
 * (`- ` for a list item, `key: ` for a mapping entry).
 * @typedef {{ inline: string } | { line: (indent: string, head: string) => string }} Part
 */

export class Placeholders {
  /** @type {Map<string, Part>} */
  #parts = new Map();

  /**
   * A plain scalar that stands for `part` until write().
   * @param {Part} part
   */
  add(part) {
    const token = `HELMTEMPLATE${this.#parts.size}X`;
    this.#parts.set(token, part);
    return token;
  }

  /** @param {string} text */
  inline(text) {
    return this.add({ inline: text });
  }

  /**
   * The entry's value from `.Values`, as YAML under its key: `key:` then `toYaml`.
   * @param {string} valuesPath e.g. `.Values.operator.resources`
   */
  toYaml(valuesPath) {
    return this.add({ line: (indent, head) => `${indent}${head.trimEnd()}\n{{- toYaml ${valuesPath} | nindent ${indent.length + 2} }}` });
  }

  /**
   * The line, with `value` in the placeholder's place, only when `condition` holds.
   * @param {string} condition a template pipeline, e.g. `.Values.operator.leaderElection.enabled`
   * @param {string} value
   */
  when(condition, value) {
    return this.lines(`if ${condition}`, value);
  }

  /**
   * The line (or lines, given several values: list items under the same head) inside a
   * `{{- action }} ... {{- end }}` block, e.g. `with .Values.operator.watchNamespace`.
   * @param {string} action
   * @param {...string} values
   */
  lines(action, ...values) {
    return this.add({
      line: (indent, head) => [`{{- ${action} }}`, ...values.map((v) => `${indent}${head}${v}`), '{{- end }}'].join('\n'),
    });
  }

  /**
   * The template text: `text` (what the yaml package wrote) with every placeholder replaced.
   * Throws if one is missing, or was quoted or folded by the writer.
   * @param {string} text
   */
  write(text) {
    let out = text;
    for (const [token, part] of this.#parts) {
      if (!out.includes(token)) throw new Error(`placeholder ${token} was not written`);
      if ('inline' in part) {
        out = out.replaceAll(token, part.inline);
        continue;
      }
      const re = new RegExp(`^( *)(.*?)${token}$`, 'm');
      const m = re.exec(out);
      if (!m) throw new Error(`placeholder ${token} is not at the end of its line`);
      out = out.replace(re, () => part.line(m[1] ?? '', m[2] ?? ''));
    }
    return out;
  }
}
