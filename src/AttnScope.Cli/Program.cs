Console.WriteLine("attnscope");
