// A worker entry that can never start (a broken build): it exits before saying 'ready'.
process.stderr.write('cannot start: broken build\n');
process.exit(1);
