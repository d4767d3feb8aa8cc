// nn layers against PyTorch: each fixture in modules.json is a PyTorch module's state_dict
// (loaded here through at.load and loadStateDict), inputs, outputs, and the gradients of inputs
// and parameters. Plus finite-difference checks on tiny shapes and argument errors.
import { describe, it } from 'vitest';
import * as at from '../lib';
import { loadFixtures, type FixtureCase } from './helpers/fixtures';
import { devices, expectCode } from './helpers/devices';
import { checkModuleCase, gradCheck, type Tol } from './helpers/nn';

const { nn } = at;

// float32 forward/backward against a float64 reference, with reductions of length <= 16 here:
// a few ulps of values of size ~1.
const TOL: Tol = { atol: 2e-5, rtol: 2e-4 };

const kw = (c: FixtureCase) => c.attrs.kwargs as Record<string, any>;

const cases: Record<string, (c: FixtureCase, device: at.DeviceName) => void> = {
  Linear: (c, device) => {
    const m = new nn.Linear(kw(c).in_features, kw(c).out_features, { device });
    checkModuleCase(c, device, m, (x) => ({ out: m.forward(x.input) }), TOL);
  },
};

describe.each(devices)('nn layers vs PyTorch on %s', (device) => {
  for (const c of loadFixtures('modules')) {
    const run = cases[c.attrs.module as string];
    if (run) it(c.name, () => run(c, device));
  }
});

describe.each(devices)('nn layers: finite differences on %s', (device) => {
  it('Linear', () => {
    at.manualSeed(1);
    const m = new nn.Linear(3, 2, { device });
    const x = at.randn([4, 3], { device, requiresGrad: true, seed: 2 });
    gradCheck(() => [m.forward(x)], [x, m.weight, m.bias!], { what: 'Linear' });
  });
});

describe.each(devices)('nn layers: bad arguments on %s', (device) => {
  it('Linear', () => {
    const m = new nn.Linear(3, 2, { device });
    expectCode(() => m.forward(at.zeros([4, 5], { device })), 'ERR_SHAPE');
  });
});
