// Lifecycle scenarios: run the bundled reference server, or any server that reads PORT and HOST, through shutdown,
// restart and failure situations, all at once, and report one verdict per scenario.
export {
  runScenarios,
  scenarios,
  validateScenarioOptions,
  type RunScenariosOptions,
  type ScenarioInfo,
  type ScenarioReport,
  type ScenarioResult,
  type Verdict,
} from './runner.js'
export { formatTable } from './table.js'
export { parseCommand, type ParsedCommand } from './command.js'
