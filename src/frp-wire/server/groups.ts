import { P2prcError } from '../../errors.js';
import type { VisitorSink, VisitorStream } from '../../transport/pairing-pool.js';
import type { FrpPorts, FrpTunnel } from './ports.js';

/** One proxy of a load-balanced group: where its visitors go. */
export interface GroupMember {
  name: string;
  sink: VisitorSink;
  target: { tunnelId: string; port: number };
}

/**
 * frp's load-balanced group (`group` / `group_key`, server/group/tcp.go): proxies that share one public
 * port; each visitor goes to the next member in turn. The first member fixes the group's key and port;
 * later ones must present the same, with frp's refusal texts.
 */
export class LoadBalancedGroup implements VisitorSink {
  private readonly members: GroupMember[] = [];
  private turn = 0;

  constructor(
    readonly name: string,
    private readonly key: string,
    readonly port: number,
  ) {}

  /** Adds a member; E_AUTH "group auth failed" for another key, E_CONFLICT for another port or a repeated name. */
  join(member: GroupMember, key: string, port: number): void {
    if (key !== this.key) throw new P2prcError('E_AUTH', 'group auth failed');
    if (port !== this.port) throw new P2prcError('E_CONFLICT', 'group should have same remote port');
    if (this.members.some((m) => m.name === member.name)) throw new P2prcError('E_CONFLICT', 'group proxy repeated');
    this.members.push(member);
  }

  /** Removes a member; true when the group is now empty (its port is then given back). */
  leave(name: string): boolean {
    const i = this.members.findIndex((m) => m.name === name);
    if (i >= 0) this.members.splice(i, 1);
    return this.members.length === 0;
  }

  get size(): number {
    return this.members.length;
  }

  /** Round robin; a group whose members all left refuses visitors (its port closes right after). */
  acceptVisitor(_tunnel: { tunnelId: string; port: number }, visitor: VisitorStream): void {
    if (this.members.length === 0) return void visitor.destroy();
    this.turn %= this.members.length;
    const m = this.members[this.turn++]!;
    m.sink.acceptVisitor(m.target, visitor);
  }
}

/**
 * The groups of an frp-wire server. The first member binds the port (owned by the group, so it
 * outlives the member that founded it); later ones join its rotation; the port goes with the last.
 */
export class FrpGroups<T extends FrpTunnel> {
  private readonly groups = new Map<string, Promise<{ group: LoadBalancedGroup; tunnel: T }>>();

  constructor(private readonly ports: FrpPorts<T>) {}

  async join(
    runId: string,
    name: string,
    key: string,
    port: number,
    member: GroupMember,
    held: number,
  ): Promise<{ port: number; leave(): void }> {
    let pending = this.groups.get(name);
    if (!pending) {
      // Members register concurrently: the founder's bind is shared by all, never repeated.
      const group = new LoadBalancedGroup(name, key, port);
      const founding = this.ports
        .open({ runId, name: `group ${name}`, remotePort: port, sink: group, held, udp: false })
        .then((tunnel) => ({ group, tunnel }));
      pending = founding;
      this.groups.set(name, founding);
      founding.catch(() => this.groups.get(name) === founding && this.groups.delete(name));
    }
    const mine = pending;
    const { group, tunnel } = await mine;
    group.join(member, key, port);
    return {
      port: tunnel.port,
      leave: () => {
        if (!group.leave(member.name) || this.groups.get(name) !== mine) return;
        this.groups.delete(name);
        this.ports.close(runId, tunnel, false);
      },
    };
  }
}
