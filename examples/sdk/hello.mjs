import { Sandbox } from '@clawpod/sdk'; // CLAWPOD_URL and CLAWPOD_TOKEN say where clawpod serve is and who asks
const sb = await Sandbox.create({ profile: 'reference' });
await sb.exec('echo "hello from $(hostname)" | tee /workspace/hello.txt', { onStdout: (s) => process.stdout.write(s) });
console.log('read back:', await sb.files.readText('/workspace/hello.txt'));
await sb.kill();
