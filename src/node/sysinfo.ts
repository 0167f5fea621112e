import os from 'node:os';
import { readFileSync, statfsSync } from 'node:fs';

/**
 * P2PRC's SysInfo (server/gopsutil.go): what GET /server_info answers on a Go node. RAM and Disk
 * are totals in MiB (gopsutil's bytes / 1024 / 1024); GPU is null where P2PRC found no GPU.
 */
export interface SysInfo {
  Hostname: string;
  Platform: string;
  CPU: string;
  RAM: number;
  Disk: number;
  GPU: null;
}

/** gopsutil's host.Info().Platform is the distribution id on Linux ("debian", "ubuntu"), else the OS name. */
function platform(): string {
  if (process.platform !== 'linux') return process.platform;
  try {
    const id = /^ID="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    return id ?? 'linux';
  } catch {
    return 'linux';
  }
}

function diskMiB(): number {
  try {
    const s = statfsSync(process.platform === 'win32' ? '\\' : '/');
    return Math.floor((s.blocks * s.bsize) / 1024 / 1024);
  } catch {
    return 0;
  }
}

let cached: Omit<SysInfo, 'RAM' | 'Disk'> | undefined;

/** Real values from this machine; the parts that cannot change while we run are read once. */
export function sysInfo(): SysInfo {
  cached ??= { Hostname: os.hostname(), Platform: platform(), CPU: os.cpus()[0]?.model ?? '', GPU: null };
  // Go's field order, so the JSON reads like a Go node's.
  return { Hostname: cached.Hostname, Platform: cached.Platform, CPU: cached.CPU, RAM: Math.floor(os.totalmem() / 1024 / 1024), Disk: diskMiB(), GPU: null };
}
