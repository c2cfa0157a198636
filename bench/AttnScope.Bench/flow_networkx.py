"""The attention-flow peer: Abnar & Zuidema's approach, a networkx DiGraph over (layers + 1) x n nodes with the
augmented attention as edge capacities and one networkx maximum_flow_value (Edmonds-Karp) per (top token, input
token) pair. Reads "layers n" and then layers*n*n values (layer 0 first, [query, key]) from the file named on the
command line; prints the milliseconds for all n*n pairs, then the n*n raw flow values."""
import sys
import time

import networkx as nx
from networkx.algorithms.flow import edmonds_karp


def main(path):
    with open(path) as f:
        head = f.readline().split()
        layers, n = int(head[0]), int(head[1])
        values = [float(line) for line in f]
    start = time.perf_counter()
    graph = nx.DiGraph()
    for l in range(layers):
        for i in range(n):
            for j in range(n):
                graph.add_edge((l + 1) * n + i, l * n + j, capacity=values[(l * n + i) * n + j])
    flows = []
    for s in range(n):
        for t in range(n):
            flows.append(nx.maximum_flow_value(graph, layers * n + s, t, flow_func=edmonds_karp))
    ms = (time.perf_counter() - start) * 1000
    print(f"{ms:.1f}")
    print(" ".join(repr(v) for v in flows))


if __name__ == "__main__":
    main(sys.argv[1])
