import { answerJob, type InstrumentJob } from '../core/runtime/instrumenter.js'

/**
 * The child process of ProcessInstrumenter (instrument-process.ts): instruments the modules the
 * daemon sends, one after the other, and exits when the daemon lets go of it.
 */
if (!process.send) throw new Error('instrument-child runs as a child process of merod, with an IPC channel')
process.on('message', (job: InstrumentJob) => {
  void answerJob(job).then((reply) => process.send!(reply))
})
process.on('disconnect', () => process.exit(0))
