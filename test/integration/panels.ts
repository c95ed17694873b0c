/** What the panel suites share: the extension's test API and opening a panel through the command. */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { NormScopeApi } from '../../src/extension/api';
import type { PanelProbe } from '../../src/extension/panel';

export const NORMALIZE_COMMAND = 'normscope.normalizeTensor';

/** Activates NormScope (this repository, loaded by the test host) and returns its test API. */
export async function activateNormScope(): Promise<NormScopeApi> {
  const ext = vscode.extensions.getExtension<NormScopeApi>('normscope.normscope');
  assert.ok(ext);
  return ext.activate();
}

/** Runs "Normalize tensor" with `arg` and returns the panel it opened. */
export async function openPanel(api: NormScopeApi, arg: unknown): Promise<PanelProbe> {
  const before = api.panels().length;
  await vscode.commands.executeCommand(NORMALIZE_COMMAND, arg);
  const panels = api.panels();
  assert.equal(panels.length, before + 1, 'the command opened no panel');
  return panels[panels.length - 1];
}
