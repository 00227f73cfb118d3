// A child process for the crash and lock tests, run with `node --import tsx`:
//   edit-child.ts kill IMAGE STEP   define a longer XML, SIGKILLed after STEP durable steps
//   edit-child.ts hold IMAGE MS     hold the image's edit lock for MS milliseconds
import { planDefine } from '../../lib/edit/plan.js';
import { lockImage } from '../../lib/file/lock.js';
import { patchImage } from '../../lib/file/patch.js';
import { faultyFiles } from './files.js';

const [mode, image, amount] = process.argv.slice(2) as [string, string, string];
if (mode === 'kill') {
  const { files } = faultyFiles({ crashAfter: Number(amount), kill: true });
  await patchImage(image, (current) => planDefine(current, Buffer.from(current.region.xml.text.replace('</description>', ' and more</description>'))), { files });
} else {
  const lock = await lockImage(image);
  process.stdout.write('locked\n');
  await new Promise((resolve) => setTimeout(resolve, Number(amount)));
  await lock.release();
}
