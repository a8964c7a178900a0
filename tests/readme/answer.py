"""Runs one shell command on a pseudo-terminal and answers its prompts, as a user would.

    answer.py [--timeout S] COMMAND [PROMPT=ANSWER ...]
    answer.py [--timeout S] --until PATTERN COMMAND

The prompts are regular expressions, matched in the order given against what the
command prints with its terminal colours removed; each must appear before its
answer is typed. After the last one the command must run to the end and
succeed. With --until, the command (one that never ends by itself, such as
`sam logs --tail`) must print PATTERN, and is then stopped. Everything the
command prints is copied to standard output. Exits non-zero, naming the prompt
or pattern, when one does not appear within S seconds (600 by default, for each
prompt and for the end); the command is stopped then, and on SIGTERM or SIGINT.
"""

import argparse
import re
import signal
import sys
import time

import pexpect

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """The command's output seen so far, without colours, minus what was matched."""

    def __init__(self, child: pexpect.spawn, timeout: float):
        self.child = child
        self.timeout = timeout
        self.seen = ""

    def wait_for(self, pattern: str) -> bool:
        """True once `pattern` appears; False at the end of the output or on timeout."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + self.timeout
        while True:
            found = regex.search(self.seen)
            if found:
                self.seen = self.seen[found.end():]
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            try:
                chunk = self.child.read_nonblocking(65536, timeout=min(left, 1.0))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                return False
            self.seen = ANSI.sub("", self.seen + chunk)

    def wait_for_end(self) -> bool:
        try:
            self.child.expect(pexpect.EOF, timeout=self.timeout)
            return True
        except pexpect.TIMEOUT:
            raise TimeoutError from None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--until")
    parser.add_argument("command")
    parser.add_argument("answers", nargs="*")
    args = parser.parse_args()
    pairs = []
    for pair in args.answers:
        prompt, sep, answer = pair.partition("=")
        if not sep:
            print(f"answer: {pair!r} is not PROMPT=ANSWER", file=sys.stderr)
            return 2
        pairs.append((prompt, answer))

    child = pexpect.spawn("bash", ["-c", args.command], encoding="utf-8",
                          dimensions=(50, 200))
    child.logfile_read = sys.stdout

    def stop(signum, _frame):
        child.terminate(force=True)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    terminal = Terminal(child, args.timeout)
    waiting_for = args.until or "the end"
    try:
        if args.until:
            if not terminal.wait_for(args.until):
                print(f"\nanswer: {args.command!r} ended before printing {args.until!r}",
                      file=sys.stderr)
                return 1
            child.terminate(force=True)
            print(f"\nanswer: saw {args.until!r}; stopped the command")
            return 0
        for prompt, answer in pairs:
            waiting_for = prompt
            if not terminal.wait_for(prompt):
                print(f"\nanswer: {args.command!r} ended before asking {prompt!r}",
                      file=sys.stderr)
                child.close()
                return 1
            child.sendline(answer)
        waiting_for = "the end"
        terminal.wait_for_end()
    except TimeoutError:
        print(f"\nanswer: {args.command!r}: no {waiting_for!r} within {args.timeout:.0f} s",
              file=sys.stderr)
        child.terminate(force=True)
        return 1
    child.close()
    if child.exitstatus != 0:
        print(f"answer: {args.command!r} exited with {child.exitstatus}"
              f" (signal {child.signalstatus})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
