// Counters per provider and model, for tokens and decisions:
//   llm_guard.provider.<provider>.model.<model>.{input_tokens,output_tokens,requests_<decision>}
// Names are sanitized (dots would split Envoy's stat hierarchy) and their number is capped: model
// names come from requests, and each name is a stat Envoy keeps for its lifetime.
import { defineMetric, incrementMetric } from "../abi/host";
import { MetricType } from "../abi/enums";

const MAX_SERIES: i32 = 64;
const OVERFLOW_MODEL = "other";

class Series {
  readonly input: u32;
  readonly output: u32;
  private readonly decisions: Map<string, u32> = new Map();

  constructor(private readonly prefix: string) {
    this.input = defineMetric(MetricType.Counter, prefix + ".input_tokens");
    this.output = defineMetric(MetricType.Counter, prefix + ".output_tokens");
  }

  decision(name: string): u32 {
    if (!this.decisions.has(name)) this.decisions.set(name, defineMetric(MetricType.Counter, this.prefix + ".requests_" + name));
    return this.decisions.get(name);
  }
}

export class ModelMetrics {
  private readonly series: Map<string, Series> = new Map();

  countDecision(provider: string, model: string, decision: string): void {
    incrementMetric(this.seriesFor(provider, model).decision(decision), 1);
  }

  countTokens(provider: string, model: string, input: i64, output: i64): void {
    const s = this.seriesFor(provider, model);
    if (input > 0) incrementMetric(s.input, input);
    if (output > 0) incrementMetric(s.output, output);
  }

  private seriesFor(provider: string, model: string): Series {
    let key = statSegment(provider) + ".model." + statSegment(model.length > 0 ? model : "unknown");
    // One series stays free for the overflow.
    if (!this.series.has(key) && this.series.size >= MAX_SERIES - 1) key = statSegment(provider) + ".model." + OVERFLOW_MODEL;
    if (!this.series.has(key)) this.series.set(key, new Series("llm_guard.provider." + key));
    return this.series.get(key);
  }
}

/** Lower-case letters, digits, `-` and `_`; anything else becomes `_`; at most 64 characters. */
export function statSegment(text: string): string {
  const n = min(text.length, 64);
  let out = "";
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f;
    out += ok ? String.fromCharCode(c) : "_";
  }
  return out;
}
