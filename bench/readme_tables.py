"""Copies bench/results/{launcher,http,replace,rpc}.md into README.md between the
<!-- bench:NAME --> markers (run by bench/run.sh after the benchmarks)."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TITLES = {
    "launcher": "Launcher: `workers` example vs oslo.service (bench/launcher_bench.py)",
    "http": "HTTP: GET /hello with wrk (bench/http_bench.py)",
    "replace": "Worker replacement under keep-alive load (bench/replace_bench.py)",
    "rpc": "RPC over RabbitMQ and the embedded transport (bench/rpc_bench.py)",
}


def main():
    path = os.path.join(ROOT, "README.md")
    readme = open(path).read()
    for name, title in TITLES.items():
        result = os.path.join(ROOT, "bench", "results", f"{name}.md")
        if not os.path.exists(result):
            continue
        body = f"**{title}**\n\n" + open(result).read().strip() + "\n"
        readme, n = re.subn(
            rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)",
            lambda m: m.group(1) + body + m.group(2),
            readme,
            flags=re.S,
        )
        if n == 0:
            readme = readme.replace(
                "![benchmark chart]",
                f"<!-- bench:{name} -->\n{body}<!-- /bench:{name} -->\n\n![benchmark chart]",
            )
    open(path, "w").write(readme)
    print("README benchmark tables updated")


if __name__ == "__main__":
    main()
