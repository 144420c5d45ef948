/**
 * The state machine's scenarios both editions share (test/shared/scenarios/stateMachine.ts), run
 * by this edition's driver (support/stateMachineDriver.ts) on the memory store. The Redis stores
 * run them in StateMachine.redis.test.ts.
 */
import * as CircuitStore from "../src/CircuitStore.js"
import { stateMachineSuite } from "./support/stateMachineDriver.js"

stateMachineSuite("memory", () => CircuitStore.layerMemory)
