// The Airflow UI as a person uses it, in headless Chromium (Debian's) driven by playwright-core:
// log in, open the trigger form, check the defaults are accepted, give a bad shard value and
// read the message, trigger a run with the defaults and a demo run, and wait for each to end;
// exits 1 listing the problems if any of these is not what a person needs.
//   node checks/airflow_ui.mjs <base url> <passwords file> <screenshot folder> <report.json> <demo world users>
// Run by `make ui-check` (checks/ui_check.py starts and stops Airflow around it).
import { chromium } from 'playwright-core';
import fs from 'fs';

const [base, passwordsFile, shots, reportFile, demoUsers] = process.argv.slice(2);
const passwords = JSON.parse(fs.readFileSync(passwordsFile));
const user = Object.keys(passwords)[0];
const report = { steps: [] };
const note = (step, details) => { report.steps.push({ step, ...details }); console.log(step, JSON.stringify(details)); };

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
const shot = async (name) => { await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true }); return `${name}.png`; };

async function api(path, options = {}) {
  const token = (await (await page.request.post(`${base}/auth/token`, { data: { username: user, password: passwords[user] } })).json()).access_token;
  const response = await page.request.fetch(`${base}${path}`, { ...options, headers: { Authorization: `Bearer ${token}` } });
  return response.json();
}

async function openTriggerForm() {
  await page.goto(`${base}/dags/demographics_nightly`);
  await page.getByRole('button', { name: 'Trigger Dag' }).click();
  await page.getByText('Configuration JSON').waitFor({ state: 'attached' }).catch(() => {});
  await page.waitForTimeout(1500);
}
const dialog = () => page.locator('[role=dialog][data-state=open]');
// "Unpause on trigger" is ticked by default and unpauses even when the trigger is then refused:
// unticked for the refused trigger, so the check shows that it created no run
async function keepPaused() {
  const box = dialog().getByRole('checkbox', { name: 'Unpause demographics_nightly on trigger' });
  if (await box.count() && await box.isChecked()) await dialog().getByText('Unpause demographics_nightly on trigger').click();
}
const triggerButton = () => dialog().getByRole('button', { name: 'Trigger', exact: true });

async function setConfigurationJson(changes) {
  // the editor is Monaco, which shows only the lines in view: start from the DAG's defaults
  const params = (await api('/api/v2/dags/demographics_nightly/details')).params;
  const conf = { ...Object.fromEntries(Object.entries(params).map(([k, p]) => [k, p.value])), ...changes };
  await dialog().getByRole('button', { name: 'Advanced Options' }).click();
  await dialog().locator('.monaco-editor .view-lines').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(JSON.stringify(conf));  // one line: no auto-indent
  await page.keyboard.press('Control+Shift+End');  // drop the brackets Monaco closed by itself
  await page.keyboard.press('Delete');
  await page.waitForTimeout(1500);
}

async function waitForRun(runId, minutes) {
  const until = Date.now() + minutes * 60_000;
  let run;
  while (Date.now() < until) {
    run = await api(`/api/v2/dags/demographics_nightly/dagRuns/${encodeURIComponent(runId)}`);
    if (['success', 'failed'].includes(run.state)) break;
    await page.waitForTimeout(10_000);
  }
  const tis = await api(`/api/v2/dags/demographics_nightly/dagRuns/${encodeURIComponent(runId)}/taskInstances?limit=200`);
  const states = {};
  for (const ti of tis.task_instances) states[ti.map_index >= 0 ? `${ti.task_id}[${ti.map_index}]` : ti.task_id] = ti.state;
  return { state: run.state, start: run.start_date, end: run.end_date, states };
}

const paused = async () => (await api('/api/v2/dags/demographics_nightly')).is_paused;

async function latestRunId(after) {
  const runs = await api('/api/v2/dags/demographics_nightly/dagRuns?order_by=-run_after&limit=5');
  return runs.dag_runs.map((r) => r.dag_run_id).find((id) => !after.includes(id));
}

// 1. log in
await page.goto(`${base}/`);
await shot('01-login');
await page.fill('input[name=username]', user);
await page.fill('input[name=password]', passwords[user]);
await page.click('button[type=submit]');
await page.waitForURL((url) => !url.pathname.startsWith('/auth'), { timeout: 30_000 });
note('login', { url: page.url() });

// 2. the form with its defaults: Trigger enabled, no field marked invalid
await openTriggerForm();
await dialog().getByRole('button', { name: 'What to run' }).click();
await page.waitForTimeout(800);
note('defaults', { trigger_enabled: await triggerButton().isEnabled(), screenshot: await shot('02-form-defaults') });

// 3. a bad shard value (the multi-select offers 0..15 only; the JSON editor is where one can be typed)
await keepPaused();
await setConfigurationJson({ shards: ['99'] });
const runsBefore = (await api('/api/v2/dags/demographics_nightly/dagRuns?limit=50')).total_entries;
await triggerButton().click();
await page.waitForTimeout(3000);
const message = (await dialog().innerText()).split('\n').filter((l) => /Invalid input|Bad Request/.test(l));
const runsAfter = (await api('/api/v2/dags/demographics_nightly/dagRuns?limit=50')).total_entries;
note('bad shard', { message, runs_created: runsAfter - runsBefore, paused: await paused(), screenshot: await shot('03-bad-shard') });

// 4. trigger with the defaults ("Unpause on trigger" left ticked: a paused DAG's runs wait queued)
await openTriggerForm();
const before = (await api('/api/v2/dags/demographics_nightly/dagRuns?limit=50')).dag_runs.map((r) => r.dag_run_id);
await triggerButton().click();
await page.waitForTimeout(4000);
const defaultRun = await latestRunId(before);
note('triggered with defaults', { run_id: defaultRun, paused: await paused(), screenshot: await shot('04-after-trigger') });
const defaultResult = await waitForRun(defaultRun, 20);
note('defaults run ended', defaultResult);

// 5. a demo run: a generated world, shard 0, shard 0, its own namespace
await openTriggerForm();
await dialog().getByRole('button', { name: 'Sample world (demo runs)' }).click();
await dialog().locator('[name=element_world_users], #element_world_users').fill(demoUsers);
await dialog().getByRole('button', { name: 'What to run' }).click();
await dialog().locator('#element_shards').click();
await page.keyboard.type('0');
await page.keyboard.press('Enter');
await dialog().getByText('Trigger Dag - demographics_nightly').click();  // closes the pick list, not the dialog
await page.waitForTimeout(800);
await shot('05-demo-form');
const beforeDemo = [...before, defaultRun];
await triggerButton().click();
await page.waitForTimeout(4000);
const demoRun = await latestRunId(beforeDemo);
note('triggered demo', { run_id: demoRun, paused: await paused() });
const demoResult = await waitForRun(demoRun, 30);
note('demo run ended', demoResult);
await page.goto(`${base}/dags/demographics_nightly/runs/${encodeURIComponent(demoRun)}`);
await page.waitForTimeout(4000);
note('grid', { screenshot: await shot('06-demo-run') });
await page.goto(`${base}/dags/demographics_nightly`);
await page.waitForTimeout(4000);
note('runs', { screenshot: await shot('07-dag-runs') });

// unpausing switched the schedule on: it must wait for the next midnight, not run a past one
const runs = (await api('/api/v2/dags/demographics_nightly/dagRuns?limit=50')).dag_runs;
const dagNow = await api('/api/v2/dags/demographics_nightly');
note('schedule', { paused: dagNow.is_paused, next_run: dagNow.next_dagrun_run_after,
                   run_types: runs.map((r) => r.run_type) });

// what a person needs: Trigger enabled at the defaults, a readable refusal, both runs succeeded
const step = (name) => report.steps.find((s) => s.step === name);
report.problems = [
  !step('defaults').trigger_enabled && 'Trigger disabled with the defaults',
  !(message.length && step('bad shard').runs_created === 0) && 'bad shard value not refused with a message',
  defaultResult.state !== 'success' && `defaults run ${defaultResult.state}`,
  demoResult.state !== 'success' && `demo run ${demoResult.state}`,
  !dagNow.is_paused && runs.some((r) => r.run_type === 'scheduled') && 'unpausing started a scheduled run at once',
].filter(Boolean);
fs.writeFileSync(reportFile, JSON.stringify(report, null, 1));
await browser.close();
if (report.problems.length) {
  console.log('problems', JSON.stringify(report.problems));
  process.exit(1);
}
