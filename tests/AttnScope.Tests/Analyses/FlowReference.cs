namespace AttnScope.Tests.Analyses;

/// <summary>
/// An independent, deliberately plain max-flow for tests: the full layered graph ((layers + 1) × n nodes) as
/// explicit edge objects in adjacency lists, and Edmonds–Karp (breadth-first shortest augmenting paths).
/// Matrices are [layers, n, n], layer l's entry [i, j] being the edge (l + 1, i) → (l, j).
/// </summary>
internal sealed class FlowReference
{
    private sealed class Edge(int target, double capacity)
    {
        public int Target = target;
        public double Capacity = capacity;
        public double Flow;
        public Edge Reverse = null!;
        public double Residual => Capacity - Flow;
    }

    private readonly List<Edge>[] edges;
    private readonly int layers, n;

    public FlowReference(double[] matrices, int layers, int n)
    {
        this.layers = layers;
        this.n = n;
        edges = new List<Edge>[(layers + 1) * n];
        for (int v = 0; v < edges.Length; v++) edges[v] = new List<Edge>();
        for (int l = 0; l < layers; l++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    var forward = new Edge(l * n + j, matrices[(l * n + i) * n + j]);
                    var backward = new Edge((l + 1) * n + i, 0);
                    forward.Reverse = backward;
                    backward.Reverse = forward;
                    edges[(l + 1) * n + i].Add(forward);
                    edges[l * n + j].Add(backward);
                }
    }

    public int Top(int token) => layers * n + token;

    public double MaxFlow(int s, int t)
    {
        foreach (var list in edges) foreach (var e in list) e.Flow = 0;
        int source = Top(s), sink = t;
        double total = 0;
        while (true)
        {
            var via = new Edge?[edges.Length];
            var from = new int[edges.Length];
            var queue = new Queue<int>([source]);
            var seen = new bool[edges.Length];
            seen[source] = true;
            while (queue.Count > 0)
            {
                int u = queue.Dequeue();
                foreach (var e in edges[u])
                    if (!seen[e.Target] && e.Residual > 1e-15)
                    {
                        seen[e.Target] = true;
                        via[e.Target] = e;
                        from[e.Target] = u;
                        queue.Enqueue(e.Target);
                    }
            }
            if (!seen[sink]) return total;
            double bottleneck = double.PositiveInfinity;
            for (int v = sink; v != source; v = from[v]) bottleneck = Math.Min(bottleneck, via[v]!.Residual);
            for (int v = sink; v != source; v = from[v])
            {
                via[v]!.Flow += bottleneck;
                via[v]!.Reverse.Flow -= bottleneck;
            }
            total += bottleneck;
        }
    }

    /// <summary>Total capacity of the edges from a node with side[v] == false to a node with side[v] == true.</summary>
    public double CutCapacity(bool[] sinkSide)
    {
        double c = 0;
        for (int u = 0; u < edges.Length; u++)
            if (!sinkSide[u])
                foreach (var e in edges[u])
                    if (e.Capacity > 0 && sinkSide[e.Target]) c += e.Capacity;
        return c;
    }
}
