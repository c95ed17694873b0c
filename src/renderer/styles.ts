/**
 * The renderer's stylesheet, scoped to `.normscope-output` (every output of a notebook shares one document).
 * Same class names and look as the panel (media/panel.css), smaller. Colours are VS Code's theme variables.
 */
export const RENDERER_CSS = `
.normscope-output { color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size, 13px);
  line-height: 1.4; padding: 4px 2px 8px; max-width: 1200px; }
.normscope-output * { box-sizing: border-box; }
.normscope-output.ns-error { color: var(--vscode-errorForeground); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding: 4px 2px; }
.normscope-output .ns-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 12px; }
.normscope-output .ns-title { font-weight: 600; font-size: 1.05em; }
.normscope-output .muted { color: var(--vscode-descriptionForeground); }
.normscope-output .ns-overall { display: grid; gap: 1px; font-variant-numeric: tabular-nums; margin: 4px 0; }
.normscope-output .side { display: inline-block; min-width: 4.2em; font-weight: 600; }
.normscope-output .side.before { color: var(--vscode-charts-blue); }
.normscope-output .side.after { color: var(--vscode-charts-green); }
.normscope-output .flag-badges { display: flex; flex-wrap: wrap; gap: 6px; margin: 2px 0 4px; }
.normscope-output button { font: inherit; cursor: pointer; border-radius: 2px; padding: 1px 8px;
  color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground);
  border: 1px solid var(--vscode-button-border, transparent); }
.normscope-output button:hover { background: var(--vscode-button-secondaryHoverBackground); }
.normscope-output button:disabled { opacity: 0.5; cursor: default; }
.normscope-output button.link { background: none; border: none; padding: 0; color: var(--vscode-textLink-foreground); text-decoration: underline; }
.normscope-output :focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
.normscope-output h2 { font-size: 1em; font-weight: 600; margin: 10px 0 4px; }
.normscope-output h3 { font-size: 0.95em; font-weight: 600; margin: 0 0 4px; }
.normscope-output figure { margin: 0; min-width: 0; }
.normscope-output figcaption { font-size: 0.9em; margin-bottom: 2px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.normscope-output .canvas { position: relative; }
.normscope-output .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin-top: 4px; }
.normscope-output .big .canvas { height: 150px; }
.normscope-output .single .canvas { height: 150px; max-width: 560px; }
.normscope-output .profile .canvas { height: 130px; }
.normscope-output .section-head { display: flex; align-items: baseline; justify-content: space-between; gap: 8px; flex-wrap: wrap; }
.normscope-output .section-head + p.muted { display: none; }
.normscope-output .pager { display: flex; align-items: center; gap: 6px; }
.normscope-output .page-status { font-variant-numeric: tabular-nums; color: var(--vscode-descriptionForeground); }
.normscope-output .multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 6px 12px; }
.normscope-output .small { padding: 2px; border-radius: 3px; border: 1px solid transparent; }
.normscope-output .small.highlight { border-color: var(--vscode-focusBorder); background: var(--vscode-list-hoverBackground); }
.normscope-output .pair-small { display: grid; grid-template-columns: 1fr 1fr; gap: 4px; }
.normscope-output .pair-small .canvas { height: 40px; }
.normscope-output .ns-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 8px; margin-top: 10px; }
.normscope-output .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 8px; }
.normscope-output .card { padding: 6px 10px; border-radius: 4px; border: 1px solid var(--vscode-widget-border, rgba(128,128,128,0.35));
  background: var(--vscode-editorWidget-background, transparent); }
.normscope-output .card.check.fail { border-color: var(--vscode-inputValidation-errorBorder); }
.normscope-output .card-head { display: flex; justify-content: space-between; gap: 8px; align-items: baseline; }
.normscope-output .card p { margin: 2px 0; }
.normscope-output .routes { margin: 2px 0; }
.normscope-output dl { display: grid; grid-template-columns: max-content 1fr; gap: 1px 12px; margin: 0; }
.normscope-output dt { color: var(--vscode-descriptionForeground); }
.normscope-output dd { margin: 0; font-variant-numeric: tabular-nums; }
.normscope-output .badge { display: inline-block; font-size: 0.85em; padding: 0 6px; border-radius: 8px; white-space: nowrap; text-decoration: none;
  border: 1px solid currentColor; }
.normscope-output .badge.pass { color: var(--vscode-testing-iconPassed, var(--vscode-charts-green)); }
.normscope-output .badge.fail { color: var(--vscode-testing-iconFailed, var(--vscode-errorForeground)); font-weight: 600; }
.normscope-output .badge.warn { color: var(--vscode-editorWarning-foreground, var(--vscode-charts-orange)); }
.normscope-output ul.flags { list-style: none; padding: 0; margin: 0; display: grid; gap: 3px; }
.normscope-output .checks h2 { margin-top: 8px; }
.normscope-output [hidden] { display: none !important; }
`;
