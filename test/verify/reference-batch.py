# Runs Xen's verify-stream-v2 (the script from Debian's xen-utils-4.17, found
# through PYTHONPATH and argv[1]) over many files in one interpreter, because
# starting Python costs ~50 ms per file. It loads the script as a module and
# calls its own read_stream(fmt) for each file, so the checks, the exception
# handling and the exit codes are the tool's own; only process start-up and
# option parsing are skipped.
#
# argv[1]: path of verify-stream-v2.
# stdin: one "FORMAT<TAB>PATH" per line. stdout: one JSON object per line:
# {"path", "status", "message"} where status is read_stream's return value
# (0 valid, 1 stream error, 2 script error) and message the last non-empty
# line the tool printed on stderr.
import importlib.machinery
import importlib.util
import io
import json
import sys


def load_tool(path):
    loader = importlib.machinery.SourceFileLoader("verify_stream_v2", path)
    spec = importlib.util.spec_from_loader("verify_stream_v2", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def main():
    tool = load_tool(sys.argv[1])
    tool.verbose = False
    tool.quiet = False
    real_stderr = sys.stderr
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        fmt, path = line.split("\t", 1)
        captured = io.StringIO()
        sys.stderr = captured
        try:
            with open(path, "rb", 0) as handle:
                tool.fin = handle
                status = tool.read_stream(fmt)
        finally:
            sys.stderr = real_stderr
        lines = [text for text in captured.getvalue().splitlines() if text.strip()]
        message = ""
        for text in reversed(lines):
            if text not in ("Please fix me", "Stream Error:", "Script Error:"):
                message = text
                break
        sys.stdout.write(json.dumps({"path": path, "status": status, "message": message}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
