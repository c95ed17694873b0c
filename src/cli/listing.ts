/** `normscope stats FILE` on a multi-tensor file (.npz, .safetensors) without a selector: what it holds. */
import { TensorListing } from '../engine/formats/listing';

/** Bytes as B, KiB, MiB, GiB. */
export function byteSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** The listing as text: one row per tensor, then the metadata and how to pick one. */
export function formatListing(source: string, l: TensorListing): string {
  const rows = [['name', 'shape', 'dtype', 'size'], ...l.tensors.map((t) => [t.name, `[${t.shape.join(', ')}]`, t.dtype, byteSize(t.bytes)])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = [`${source}: ${l.tensors.length} tensor${l.tensors.length === 1 ? '' : 's'} (${l.format})`];
  for (const r of rows) lines.push('  ' + r.map((c, i) => (i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd());
  if (l.metadata) {
    lines.push('metadata:');
    for (const [k, v] of Object.entries(l.metadata)) lines.push(`  ${k}: ${v}`);
  }
  if (l.tensors.length) lines.push(`pick one with ${source}#${l.tensors[0].name}`);
  return lines.join('\n');
}

/** The listing as JSON (what `--json` prints). */
export function listingJson(l: TensorListing): object {
  return {
    format: l.format,
    tensors: l.tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype, bytes: t.bytes })),
    metadata: l.metadata ?? null,
  };
}
