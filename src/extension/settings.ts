/** The extension's settings (package.json contributes.configuration, section `normscope`). */
import * as vscode from 'vscode';
import type { OpName } from '../engine/params';
import { DEFAULT_BUDGET_MB } from '../node/fileSource'; // normscope.memoryBudgetMB's default: the CLI's --budget-mb
import type { DefaultOpSetting } from './panelModel';

export interface Settings {
  readonly defaultOp: DefaultOpSetting;
  /** undefined: each op's own default (1e-5; RMSNorm: the dtype's machine epsilon). */
  readonly defaultEps: number | undefined;
  readonly histogramBins: number;
  readonly pageSize: number;
  /** Memory budget (MiB) of a streamed file; `file:` files above half of it are streamed, not read whole. */
  readonly memoryBudgetMB: number;
}


/** Files above this many bytes stream rather than load whole: half the budget (the CLI's rule). */
export function streamThresholdBytes(budgetMB: number): number {
  return (budgetMB / 2) * 2 ** 20;
}

const OPS: readonly DefaultOpSetting[] = ['auto', 'batch', 'layer', 'group', 'instance', 'rms'] satisfies (OpName | 'auto')[];

/** Reads the settings, falling back to the defaults for out-of-range values. */
export function readSettings(scope?: vscode.Uri): Settings {
  const c = vscode.workspace.getConfiguration('normscope', scope);
  const op = c.get<string>('defaultOp', 'auto');
  const eps = c.get<number | null>('defaultEps', null);
  const bins = c.get<number>('histogramBins', 50);
  const budget = c.get<number>('memoryBudgetMB', DEFAULT_BUDGET_MB);
  return {
    defaultOp: (OPS as readonly string[]).includes(op) ? (op as DefaultOpSetting) : 'auto',
    defaultEps: typeof eps === 'number' && Number.isFinite(eps) && eps >= 0 ? eps : undefined,
    histogramBins: Number.isInteger(bins) && bins >= 5 && bins <= 500 ? bins : 50,
    pageSize: 16,
    // any positive size is honoured (tests stream kilobyte files); the settings UI asks for at least 64
    memoryBudgetMB: typeof budget === 'number' && Number.isFinite(budget) && budget > 0 ? budget : DEFAULT_BUDGET_MB,
  };
}
