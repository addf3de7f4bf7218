import test from 'ava';
import { uuidv7 } from '../../src/lib/ids.js';

test('uuidv7: version 7, RFC 9562 variant, and strictly increasing even within one millisecond', (t) => {
  const ids = Array.from({ length: 5000 }, () => uuidv7(1_800_000_000_000));
  for (const id of ids) t.regex(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.deepEqual([...ids].sort(), ids, 'sorted order is creation order');
  t.is(new Set(ids).size, ids.length);
  t.true(uuidv7() > ids.at(-1)!, 'and later calls sort after');
});
