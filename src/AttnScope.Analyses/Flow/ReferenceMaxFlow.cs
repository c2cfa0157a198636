namespace AttnScope.Analyses.Flow;

/// <summary>
/// The textbook way to get one flow value: Edmonds–Karp (shortest augmenting paths found by breadth-first search)
/// on the whole layered graph, built explicitly as adjacency lists, for one (output token, input token) pair. Slow
/// and plain on purpose: the benchmark's peer, and a second witness of minimum cuts in tests.
/// </summary>
internal sealed class ReferenceMaxFlow
{
    private readonly int layers, n;
    private readonly List<int>[] adjacency; // edge ids leaving each node (forward edges and their reverses)
    private readonly List<int> to = [];
    private readonly List<double> capacity = [];
    private double[] residual = [];

    public ReferenceMaxFlow(FlowNetwork network)
    {
        layers = network.Layers;
        n = network.Tokens;
        adjacency = new List<int>[(layers + 1) * n];
        for (int v = 0; v < adjacency.Length; v++) adjacency[v] = [];
        for (int l = 0; l < layers; l++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    double c = network.Cap[(l * n + i) * n + j];
                    if (c > 0) AddEdge(Node(l + 1, i), Node(l, j), c);
                }
    }

    private int Node(int level, int token) => level * n + token;

    private void AddEdge(int from, int target, double c)
    {
        adjacency[from].Add(to.Count); to.Add(target); capacity.Add(c);
        adjacency[target].Add(to.Count); to.Add(from); capacity.Add(0);
    }

    /// <summary>Maximum flow from token <paramref name="s"/> at the top to input token <paramref name="t"/>.</summary>
    public double Solve(int s, int t)
    {
        residual = capacity.ToArray();
        int source = Node(layers, s), sink = Node(0, t);
        var via = new int[adjacency.Length];
        double total = 0;
        while (true)
        {
            Array.Fill(via, -1);
            var queue = new Queue<int>();
            queue.Enqueue(source);
            while (queue.Count > 0 && via[sink] < 0)
            {
                int u = queue.Dequeue();
                foreach (int e in adjacency[u])
                    if (residual[e] > FlowSolver.Eps && to[e] != source && via[to[e]] < 0) { via[to[e]] = e; queue.Enqueue(to[e]); }
            }
            if (via[sink] < 0) return total;
            double push = double.MaxValue;
            for (int v = sink; v != source; v = to[via[v] ^ 1]) push = Math.Min(push, residual[via[v]]);
            for (int v = sink; v != source; v = to[via[v] ^ 1]) { residual[via[v]] -= push; residual[via[v] ^ 1] += push; }
            total += push;
        }
    }

    /// <summary>After <see cref="Solve"/>: the nodes (level·n + token) still reachable from the source in the residual graph.</summary>
    public bool[] SourceSide(int s)
    {
        var seen = new bool[adjacency.Length];
        var stack = new Stack<int>();
        seen[Node(layers, s)] = true;
        stack.Push(Node(layers, s));
        while (stack.Count > 0)
            foreach (int e in adjacency[stack.Pop()])
                if (residual[e] > FlowSolver.Eps && !seen[to[e]]) { seen[to[e]] = true; stack.Push(to[e]); }
        return seen;
    }
}
