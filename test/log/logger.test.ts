import { readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Logger, formatLine, parseLogLevel } from '../../src/log/logger.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir } = useWorkspace();
const T = new Date('2025-01-02T03:04:05.678Z');

describe('formatLine', () => {
  it('text: timestamp, level, message', () => {
    expect(formatLine('text', T, 'warn', 'refused', 'login refused')).toBe(
      '[2025-01-02T03:04:05.678Z] warn: login refused',
    );
  });
  it('json: time, level, event and the fields, undefined ones left out', () => {
    const o = JSON.parse(
      formatLine('json', T, 'warn', 'refused', 'no', { reason: 'auth', peer: '127.0.0.1:5', client: undefined }),
    );
    expect(o).toEqual({
      time: '2025-01-02T03:04:05.678Z',
      level: 'warn',
      event: 'refused',
      message: 'no',
      reason: 'auth',
      peer: '127.0.0.1:5',
    });
  });
});

describe('Logger', () => {
  it('drops records below its level', () => {
    const lines: string[] = [];
    const log = new Logger({ level: 'warn', write: (l) => lines.push(l), now: () => T });
    log.debug('a', 'debug');
    log.info('a', 'info');
    log.warn('a', 'warn');
    log.error('a', 'error');
    expect(lines).toEqual(['[2025-01-02T03:04:05.678Z] warn: warn\n', '[2025-01-02T03:04:05.678Z] error: error\n']);
  });

  it('appends to a file and starts a new one on reopen (logrotate), also on SIGHUP', () => {
    const dir = tempDir('log');
    const file = path.join(dir, 'p2prc.log');
    const log = new Logger({ file, format: 'json' });
    log.info('one', 'first');
    renameSync(file, `${file}.1`);
    log.info('two', 'still the old file until reopened');
    log.reopen();
    log.info('three', 'new file');
    const stop = log.reopenOnSighup();
    renameSync(file, `${file}.2`);
    process.emit('SIGHUP', 'SIGHUP');
    stop();
    log.info('four', 'after SIGHUP');
    log.close();
    const events = (f: string) =>
      readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).event);
    expect(events(`${file}.1`)).toEqual(['one', 'two']);
    expect(events(`${file}.2`)).toEqual(['three']);
    expect(events(file)).toEqual(['four']);
  });

  it('validates --log-level', () => {
    expect(parseLogLevel('debug')).toBe('debug');
    expect(() => parseLogLevel('loud')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });
});
