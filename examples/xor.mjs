// examples/xor.mjs — the README's example: a small MLP learns XOR. Run: node examples/xor.mjs
import * as at from 'atento';

const model = new at.nn.Sequential(new at.nn.Linear(2, 16), new at.nn.ReLU(), new at.nn.Linear(16, 2));
const opt = new at.optim.Adam(model.parameters(), { lr: 1e-2 });
const x = at.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
const y = at.tensor([0, 1, 1, 0], { dtype: 'int32' });
for (let step = 0; step < 500; step++) {
  at.tidy(() => {                       // frees every intermediate tensor of the step
    opt.zeroGrad();
    const loss = at.F.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
  });
}
const predicted = at.noGrad(() => at.F.argmax(model.forward(x), -1)).toArray();
console.log('XOR predictions:', predicted);
