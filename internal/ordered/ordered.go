package ordered

import (
	"iter"
	"sync"
)

// Config says how Run works on items.
type Config[T any] struct {
	// Workers is how many goroutines work on items (at least 1).
	Workers int
	// Ahead is how many items circulate (default 2*Workers): the producer
	// runs at most this far ahead of the consumer.
	Ahead int
	// Every sends each item to every worker (Work's k says which share to
	// do); otherwise each item goes to one worker (k is that worker).
	Every bool
	// New makes an item; Run makes Ahead of them and reuses them.
	New func() *T
	// Work works on an item: all of it, or worker k's share (Every).
	Work func(item *T, k int)
}

// Take returns a free item for the producer to fill, or false once the
// consumer has stopped.
type Take[T any] func() (*T, bool)

// Send hands a filled item to the workers and then to the consumer, after
// every item sent before it; it reports false once the consumer has
// stopped (the item is then dropped).
type Send[T any] func(*T) bool

// slot is an item with what Run needs to know of it.
type slot[T any] struct {
	item *T
	done sync.WaitGroup // the workers' share of it, outstanding
}

// Run returns the items produce sends, each once its work is done, in the
// order sent. produce runs on a goroutine of its own; it returns when it
// has sent everything, or when take or send reports false.
func Run[T any](cfg Config[T], produce func(take Take[T], send Send[T])) iter.Seq[*T] {
	return func(yield func(*T) bool) {
		p := start(cfg)
		defer p.wait()
		p.goProduce(produce)
		for s := range p.out {
			s.done.Wait()
			if !yield(s.item) {
				return
			}
			p.free <- s
		}
	}
}

// pipeline is one run: the channels between the goroutines.
type pipeline[T any] struct {
	cfg    Config[T]
	free   chan *slot[T]   // items to fill
	queues []chan *slot[T] // to the workers: one each (Every), or one shared
	out    chan *slot[T]   // to the consumer, in the order sent
	stop   chan struct{}   // closed when the consumer leaves
	slots  map[*T]*slot[T]
	wg     sync.WaitGroup
}

func start[T any](cfg Config[T]) *pipeline[T] {
	cfg.Workers = max(cfg.Workers, 1)
	if cfg.Ahead <= 0 {
		cfg.Ahead = 2 * cfg.Workers
	}
	p := &pipeline[T]{cfg: cfg, free: make(chan *slot[T], cfg.Ahead), out: make(chan *slot[T], cfg.Ahead),
		stop: make(chan struct{}), slots: make(map[*T]*slot[T], cfg.Ahead)}
	for range cfg.Ahead {
		s := &slot[T]{item: cfg.New()}
		p.slots[s.item] = s
		p.free <- s
	}
	queues := 1
	if cfg.Every {
		queues = cfg.Workers
	}
	for range queues {
		p.queues = append(p.queues, make(chan *slot[T], cfg.Ahead))
	}
	for k := range cfg.Workers {
		q := p.queues[min(k, queues-1)]
		p.wg.Go(func() {
			for s := range q {
				cfg.Work(s.item, k)
				s.done.Done()
			}
		})
	}
	return p
}

// goProduce runs produce, then closes the queues and the consumer's
// channel.
func (p *pipeline[T]) goProduce(produce func(Take[T], Send[T])) {
	p.wg.Go(func() {
		defer close(p.out)
		defer func() {
			for _, q := range p.queues {
				close(q)
			}
		}()
		produce(p.take, p.send)
	})
}

func (p *pipeline[T]) take() (*T, bool) {
	select {
	case s := <-p.free:
		return s.item, true
	case <-p.stop:
		return nil, false
	}
}

func (p *pipeline[T]) send(item *T) bool {
	s := p.slots[item]
	s.done.Add(len(p.queues))
	for _, q := range p.queues {
		q <- s // never blocks: at most Ahead items circulate
	}
	select {
	case p.out <- s:
		return true
	case <-p.stop:
		s.done.Wait()
		return false
	}
}

// wait stops the producer and waits for every goroutine.
func (p *pipeline[T]) wait() {
	close(p.stop)
	p.wg.Wait()
}
