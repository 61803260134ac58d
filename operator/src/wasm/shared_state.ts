// Process-wide state Envoy keeps outside the VMs: shared data (per vm_id, with CAS) and shared queues.
// Pass one SharedState to several FilterHost instances to model several worker threads.

import { WasmResult } from './abi.js';

export interface SharedValue {
  value: Uint8Array;
  cas: number;
}

export interface QueueOwner {
  /** Called (asynchronously, like Envoy's dispatcher post) when data is enqueued. */
  notify(contextId: number, token: number): void;
}

interface Queue {
  vmId: string;
  name: string;
  items: Uint8Array[];
  contextId: number;
  owner: QueueOwner;
}

export class SharedState {
  private data = new Map<string, Map<string, SharedValue>>();
  private nextCasValue = 1;
  private queues = new Map<number, Queue>();
  private queueTokens = new Map<string, number>();
  private nextQueueTokenValue = 1;

  private nextCas(): number {
    const r = this.nextCasValue++;
    if (this.nextCasValue > 0xffffffff) this.nextCasValue = 1;
    return r;
  }

  getData(vmId: string, key: string): SharedValue | undefined {
    return this.data.get(vmId)?.get(key);
  }

  setData(vmId: string, key: string, value: Uint8Array, cas: number): number {
    let map = this.data.get(vmId);
    if (!map) {
      map = new Map();
      this.data.set(vmId, map);
    }
    const cur = map.get(key);
    if (cur && cas !== 0 && cas !== cur.cas) return WasmResult.CasMismatch;
    map.set(key, { value: value.slice(), cas: this.nextCas() });
    return WasmResult.Ok;
  }

  /** Forgets all shared data (queues stay). */
  clear(): void {
    this.data.clear();
  }

  /** Snapshot of a vm_id's shared data as strings (for assertions). */
  dataFor(vmId: string): Map<string, SharedValue> {
    return new Map(this.data.get(vmId) ?? []);
  }

  registerQueue(vmId: string, name: string, contextId: number, owner: QueueOwner): number {
    const key = `${vmId}\0${name}`;
    let token = this.queueTokens.get(key);
    if (token === undefined) {
      token = this.nextQueueTokenValue++;
      this.queueTokens.set(key, token);
    }
    const existing = this.queues.get(token);
    this.queues.set(token, { vmId, name, items: existing?.items ?? [], contextId, owner });
    return token;
  }

  resolveQueue(vmId: string, name: string): number {
    return this.queueTokens.get(`${vmId}\0${name}`) ?? 0;
  }

  enqueue(token: number, value: Uint8Array): number {
    const q = this.queues.get(token);
    if (!q) return WasmResult.NotFound;
    q.items.push(value.slice());
    q.owner.notify(q.contextId, token);
    return WasmResult.Ok;
  }

  dequeue(token: number): { result: number; value?: Uint8Array } {
    const q = this.queues.get(token);
    if (!q) return { result: WasmResult.NotFound };
    const v = q.items.shift();
    if (v === undefined) return { result: WasmResult.Empty };
    return { result: WasmResult.Ok, value: v };
  }
}
