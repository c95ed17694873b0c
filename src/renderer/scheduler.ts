/**
 * One queue of work for all outputs of a notebook (they share one page and one thread): jobs run one per
 * macrotask, so twenty outputs never make one long freeze, and outputs on screen go first.
 */
export interface Job {
  /** Lower runs first: 0 on screen, 1 off screen, 2 the equivalence checks. */
  priority: number;
  readonly run: () => void;
  cancelled?: boolean;
}

export class Scheduler {
  private readonly jobs: Job[] = [];
  private pending = false;
  private seq = 0;
  private readonly order = new WeakMap<Job, number>();
  /** Jobs run so far: the number of the turn running now (outputs record it; tests read it). */
  turn = 0;

  add(run: () => void, priority: number): Job {
    const job: Job = { priority, run };
    this.order.set(job, this.seq++);
    this.jobs.push(job);
    this.kick();
    return job;
  }

  /** Re-ranks a queued job (e.g. its output scrolled into view). */
  reprioritize(job: Job, priority: number): void {
    job.priority = Math.min(job.priority, priority);
  }

  private kick(): void {
    if (this.pending || this.jobs.length === 0) return;
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      this.runNext();
      this.kick();
    }, 0);
  }

  private runNext(): void {
    let best = -1;
    for (let i = 0; i < this.jobs.length; i++) {
      const j = this.jobs[i];
      if (best < 0 || j.priority < this.jobs[best].priority
        || (j.priority === this.jobs[best].priority && this.order.get(j)! < this.order.get(this.jobs[best])!)) best = i;
    }
    if (best < 0) return;
    const [job] = this.jobs.splice(best, 1);
    if (job.cancelled) return;
    this.turn++;
    job.run();
  }
}
