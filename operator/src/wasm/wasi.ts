// wasi_snapshot_preview1 (and wasi_unstable) as proxy-wasm-cpp-host implements it: stdout/stderr go
// to the proxy's log, environment variables come from the VM config, files and sockets don't exist.

import { randomFillSync } from 'node:crypto';
import type { GuestMemory } from './memory.js';
import { toBytes } from './memory.js';
import { LogLevel } from './abi.js';

export interface WasiHost {
  mem(): GuestMemory;
  /** Log through the current context, as Envoy does (fd 1 -> info, fd 2 -> error, host errors). */
  log(level: number, message: string, source: 'stdout' | 'stderr' | 'host'): void;
  envPairs(): ReadonlyArray<readonly [string, string]>;
  realtimeNs(): bigint;
  monotonicNs(): bigint;
}

const ESUCCESS = 0;
const EBADF = 8;
const ENOTDIR = 20;
const EFAULT = 21;
const EINVAL = 28;
const ENOENT = 44;
const ENOSYS = 52;
const ENOTSUP = 58;

export const RANDOM_GET_MAX = 64 * 1024;

type AnyFn = (...args: never[]) => unknown;

export function makeWasiImports(host: WasiHost): Record<string, AnyFn> {
  const isStd = (fd: number) => fd === 1 || fd === 2;

  const writev = (fd: number, iovs: number, iovsLen: number): { errno: number; written: number } => {
    let level: number;
    if (fd === 1) level = LogLevel.info;
    else if (fd === 2) level = LogLevel.error;
    else return { errno: EBADF, written: 0 };
    const mem = host.mem();
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < iovsLen >>> 0; i++) {
      const base = (iovs >>> 0) + i * 8;
      const buf = mem.getU32(base);
      const len = mem.getU32(base + 4);
      if (buf === null || len === null) return { errno: EFAULT, written: 0 };
      if (len !== 0) {
        const bytes = mem.read(buf, len);
        if (!bytes) return { errno: EFAULT, written: 0 };
        parts.push(bytes);
        total += len;
      }
    }
    if (total !== 0) {
      const all = new Uint8Array(total);
      let p = 0;
      for (const b of parts) {
        all.set(b, p);
        p += b.length;
      }
      let s = new TextDecoder().decode(all);
      if (s.endsWith('\n')) s = s.slice(0, -1);
      host.log(level, s, fd === 1 ? 'stdout' : 'stderr');
    }
    return { errno: ESUCCESS, written: total };
  };

  const envStrings = (): Uint8Array[] => host.envPairs().map(([k, v]) => toBytes(`${k}=${v}\0`));

  return {
    fd_write: (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => {
      const r = writev(fd, iovs, iovsLen);
      if (r.errno !== ESUCCESS) return r.errno;
      if (!host.mem().setU32(nwrittenPtr, r.written)) return EFAULT;
      return ESUCCESS;
    },
    fd_read: () => ENOSYS,
    fd_seek: () => {
      host.log(LogLevel.trace, 'wasi_unstable fd_seek', 'host');
      return ESUCCESS;
    },
    fd_close: () => {
      host.log(LogLevel.trace, 'wasi_unstable fd_close', 'host');
      return ESUCCESS;
    },
    fd_fdstat_get: (fd: number, statOut: number) => {
      if (!isStd(fd)) return EBADF;
      const stat = new Uint8Array(24);
      new DataView(stat.buffer).setBigUint64(8, 64n, true); // fs_rights_base = FD_WRITE
      host.mem().write(statOut, stat);
      return ESUCCESS;
    },
    fd_fdstat_set_flags: () => ENOSYS,
    fd_fdstat_set_rights: (fd: number) => (isStd(fd) ? ESUCCESS : EBADF),
    environ_get: (environPtr: number, environBuf: number) => {
      const mem = host.mem();
      let arr = environPtr >>> 0;
      let buf = environBuf >>> 0;
      for (const s of envStrings()) {
        if (!mem.setU32(arr, buf)) return EFAULT;
        if (!mem.write(buf, s)) return EFAULT;
        buf += s.length;
        arr += 4;
      }
      return ESUCCESS;
    },
    environ_sizes_get: (countPtr: number, bufSizePtr: number) => {
      const mem = host.mem();
      const strs = envStrings();
      if (!mem.setU32(countPtr, strs.length)) return EFAULT;
      if (!mem.setU32(bufSizePtr, strs.reduce((n, s) => n + s.length, 0))) return EFAULT;
      return ESUCCESS;
    },
    args_get: () => ESUCCESS,
    args_sizes_get: (argcPtr: number, bufSizePtr: number) => {
      const mem = host.mem();
      if (!mem.setU32(argcPtr, 0)) return EFAULT;
      if (!mem.setU32(bufSizePtr, 0)) return EFAULT;
      return ESUCCESS;
    },
    clock_time_get: (id: number, _precision: bigint, resultPtr: number) => {
      let t: bigint;
      if (id === 0) t = host.realtimeNs();
      else if (id === 1) t = host.monotonicNs();
      else return ENOTSUP;
      if (!host.mem().setU64(resultPtr, t)) return EFAULT;
      return ESUCCESS;
    },
    clock_res_get: (id: number, resultPtr: number) => {
      if (id !== 0 && id !== 1) return ENOTSUP;
      if (!host.mem().setU64(resultPtr, 1n)) return EFAULT;
      return ESUCCESS;
    },
    fd_advise: () => ESUCCESS,
    fd_allocate: (fd: number) => (isStd(fd) ? ESUCCESS : EBADF),
    fd_datasync: (fd: number) => (isStd(fd) ? ESUCCESS : EBADF),
    fd_filestat_set_size: (fd: number) => (isStd(fd) ? ESUCCESS : EBADF),
    fd_filestat_set_times: (fd: number) => (isStd(fd) ? ESUCCESS : EBADF),
    fd_pread: () => ENOSYS,
    fd_pwrite: (fd: number, iovs: number, iovsLen: number, _offset: bigint, nwrittenPtr: number) => {
      if (!isStd(fd)) return EBADF;
      const r = writev(fd, iovs, iovsLen);
      if (r.errno !== ESUCCESS) return r.errno;
      if (!host.mem().setU32(nwrittenPtr, r.written)) return EFAULT;
      return ESUCCESS;
    },
    fd_readdir: (_fd: number, _buf: number, _len: number, _cookie: bigint, nreadPtr: number) => {
      if (!host.mem().setU32(nreadPtr, 0)) return EFAULT;
      return ENOTDIR;
    },
    fd_renumber: (fd: number, to: number) => (isStd(fd) && isStd(to) ? ENOTSUP : EBADF),
    fd_sync: (fd: number) => (isStd(fd) ? ESUCCESS : EBADF),
    fd_tell: (fd: number, retPtr: number) => {
      if (!isStd(fd)) return EBADF;
      if (!host.mem().setU64(retPtr, 0n)) return EFAULT;
      return ESUCCESS;
    },
    path_create_directory: () => ENOTSUP,
    path_filestat_set_times: () => ENOTSUP,
    path_link: () => ENOTSUP,
    path_readlink: (_fd: number, _p: number, _pl: number, _b: number, _bl: number, retPtr: number) => {
      if (!host.mem().setU32(retPtr, 0)) return EFAULT;
      return ENOTSUP;
    },
    path_remove_directory: () => ENOTSUP,
    path_rename: () => ENOTSUP,
    path_symlink: () => ENOTSUP,
    path_unlink_file: () => ENOTSUP,
    sock_accept: (_fd: number, _flags: number, retPtr: number) => {
      if (!host.mem().setU64(retPtr, 0n)) return EFAULT;
      return ENOTSUP;
    },
    sock_recv: (_fd: number, _d: number, _dl: number, _f: number, ret0: number, ret1: number) => {
      if (!host.mem().setU32(ret0, 0)) return EFAULT;
      if (!host.mem().setU16(ret1, 0)) return EFAULT;
      return ENOTSUP;
    },
    sock_send: (_fd: number, _d: number, _dl: number, _f: number, ret0: number) => {
      if (!host.mem().setU32(ret0, 0)) return EFAULT;
      return ENOTSUP;
    },
    sock_shutdown: () => ENOTSUP,
    random_get: (bufPtr: number, bufLen: number) => {
      bufLen >>>= 0;
      if (bufLen > RANDOM_GET_MAX) return EINVAL;
      if (bufLen === 0) return ESUCCESS;
      const bytes = new Uint8Array(bufLen);
      randomFillSync(bytes);
      if (!host.mem().write(bufPtr, bytes)) return EFAULT;
      return ESUCCESS;
    },
    sched_yield: () => ESUCCESS,
    poll_oneoff: (_in: number, _out: number, _n: number, neventsPtr: number) => {
      if (!host.mem().setU32(neventsPtr, 0)) return EFAULT;
      return ESUCCESS;
    },
    proc_exit: (_code: number) => {
      // cpp-host only logs (context->error, which Envoy logs at trace level); it does not stop the VM.
      host.log(LogLevel.trace, 'wasi_unstable proc_exit', 'host');
    },
    path_open: () => ENOENT,
    fd_prestat_get: () => EBADF,
    fd_prestat_dir_name: () => ENOSYS,
    path_filestat_get: () => ENOTSUP,
    fd_filestat_get: () => EBADF,
  };
}
