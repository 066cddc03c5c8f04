// Reference WordPiece encodings from npm @huggingface/tokenizers@0.2.0 (a port of Hugging
// Face's tokenizers: BertNormalizer, BertPreTokenizer, WordPiece), installed by
// deploy/install-deps.sh --test. Usage: node wordpiece_reference.js MODULES VOCAB LOWER
// with a JSON array of strings on stdin; writes their ids wrapped in [CLS] ... [SEP].
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require(path.join(process.argv[2], '@huggingface/tokenizers'));
const lines = fs.readFileSync(process.argv[3], 'utf-8').split('\n');
if (lines[lines.length - 1] === '') lines.pop();
const vocab = {};
lines.forEach((t, i) => { vocab[t] = i; });
const lower = process.argv[4] === '1';
const tok = new Tokenizer({
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true,
                strip_accents: null, lowercase: lower },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  model: { type: 'WordPiece', vocab, unk_token: '[UNK]', continuing_subword_prefix: '##',
           max_input_chars_per_word: 100 },
  post_processor: null, decoder: null, added_tokens: [],
}, {});
let input = '';
process.stdin.on('data', d => { input += d; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map(t =>
    [vocab['[CLS]'], ...tok.encode(t, { add_special_tokens: false }).ids, vocab['[SEP]']]);
  process.stdout.write(JSON.stringify(out));
});
