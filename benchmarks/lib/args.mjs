/** `--key value` pairs of a child benchmark's argv, with defaults. */
export function args(defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    const d = defaults[key];
    out[key] = typeof d === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return out;
}
