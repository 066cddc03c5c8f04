// Reference GPT-2 encodings from npm gpt-3-encoder@1.1.4 (installed by
// deploy/install-deps.sh --test into .cache/reference): reads a JSON array of strings on
// stdin, writes a JSON array of token-id arrays.
const path = require('path');
const dir = process.argv[2];
const { encode } = require(path.join(dir, 'gpt-3-encoder'));
let input = '';
process.stdin.on('data', d => { input += d; });
process.stdin.on('end', () => {
  const texts = JSON.parse(input);
  process.stdout.write(JSON.stringify(texts.map(t => encode(t))));
});
